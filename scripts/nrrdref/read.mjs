// read.mjs reads NRRD files with ITK's NrrdImageIO (the reader 3D Slicer
// uses), compiled to WebAssembly by itk-wasm, for polyseg's tests to compare
// with: for each IN it prints one JSON line with the image's size, spacing,
// origin and direction (ITK's LPS world), pixel type and number of
// components, and the NRRD's key:=value fields; with OUT it also writes the
// voxels, every component, as little-endian float64 in ITK's order.
//
// Usage: node read.mjs IN [OUT] [IN [OUT]...]   (OUT "-" for none)
import { nrrdReadImageNode } from '@itk-wasm/image-io'
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

const args = process.argv.slice(2)
for (let i = 0; i < args.length; i += 2) {
  const path = resolve(args[i])
  const out = args[i + 1]
  try {
    const { couldRead, image } = await nrrdReadImageNode(path)
    if (!couldRead) throw new Error('ITK could not read it')
    const meta = {}
    if (image.metadata) {
      for (const [k, v] of image.metadata) meta[k] = v
    }
    console.log(JSON.stringify({
      path: args[i],
      size: image.size,
      spacing: image.spacing,
      origin: image.origin,
      direction: Array.from(image.direction),
      componentType: image.imageType.componentType,
      pixelType: image.imageType.pixelType,
      components: image.imageType.components,
      metadata: meta,
    }))
    if (out && out !== '-') {
      const d = image.data
      const f = new Float64Array(d.length)
      for (let j = 0; j < d.length; j++) f[j] = Number(d[j])
      writeFileSync(out, Buffer.from(f.buffer))
    }
  } catch (e) {
    console.log(JSON.stringify({ path: args[i], error: String(e && e.message ? e.message : e) }))
  }
}
