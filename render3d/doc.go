// Package render3d draws the segments' surface meshes in 3D without a
// window or a GPU: a software renderer (pure Go) that draws a Scene of
// meshes, each in its colour and shown or hidden, and translucent slice
// planes, into an *image.RGBA, as a Camera (perspective or orthographic,
// turned as a turntable or an arcball, zoomed, panned, reset to fit)
// sees it; and picking, from a pixel of the last frame to the world point
// on the surface drawn there (to move the crosshair). A UI shows the image
// and turns mouse gestures into Camera calls.
//
// # Invariants
//
//   - World coordinates are polyseg's RAS+ in mm; the standard views are
//     named for the patient (Anterior shows the patient's right on the
//     left of the screen, superior up, as 3D Slicer's default view).
//   - Meshes are closed and face outwards (package mesh): back faces are
//     culled, so each surface pixel is drawn by triangles that face the
//     eye. Triangles with a vertex behind the near plane (the camera inside
//     the scene's bounding sphere and close to a surface) are left out;
//     the slice planes are clipped instead.
//   - Depth is a z-buffer of the nearness q (near/z for perspective, which
//     is exact to interpolate on the screen; linear for orthographic).
//     A pixel shows the nearest triangle whose centre-sampled coverage
//     includes it (edges are inclusive, so neighbouring triangles leave
//     no cracks); ties go to the first triangle drawn, in a fixed order,
//     so a frame is the same for any number of workers.
//   - Lighting is a headlight: ambient plus diffuse of the normal against
//     the viewing direction; Gouraud interpolates the
//     vertices' light (from the mesh's area-weighted vertex normals,
//     computed once per mesh by NewObject/SetMesh), Flat uses each
//     triangle's normal.
//   - The work is parallel: vertices in chunks, triangles binned into
//     screen bands by contiguous shares per worker, bands rasterised by
//     whichever worker is free. A Renderer keeps its buffers between
//     frames and is not safe for concurrent use.
package render3d
