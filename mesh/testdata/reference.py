"""Independent measures of polyseg's meshes, for mesh/realdata_test.go.

Usage: reference.py LABELS.nii.gz LABEL:STL:PLY:OBJ ...

For each label: scikit-image's marching cubes (Lewiner) on the label's mask
read by nibabel, mapped to world coordinates through the file's affine, gives
a reference surface area; VTK reads polyseg's STL, PLY and OBJ files and
gives the enclosed volume and area (vtkMassProperties), the number of open
and non-manifold edges (vtkFeatureEdges), the point and triangle counts, and
the signed volume of the triangles as read (positive when they face
outwards). Prints one JSON object keyed by label.
"""
import json
import sys

import nibabel as nib
import numpy as np
from skimage import measure
from vtkmodules.vtkFiltersCore import vtkFeatureEdges, vtkMassProperties
from vtkmodules.vtkIOGeometry import vtkOBJReader, vtkSTLReader
from vtkmodules.vtkIOPLY import vtkPLYReader
from vtkmodules.util.numpy_support import vtk_to_numpy


def describe(reader, path):
    reader.SetFileName(path)
    reader.Update()
    poly = reader.GetOutput()
    mp = vtkMassProperties()
    mp.SetInputData(poly)
    mp.Update()
    fe = vtkFeatureEdges()
    fe.SetInputData(poly)
    fe.BoundaryEdgesOn()
    fe.NonManifoldEdgesOn()
    fe.FeatureEdgesOff()
    fe.ManifoldEdgesOff()
    fe.Update()
    pts = vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
    cells = vtk_to_numpy(poly.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    p0, p1, p2 = pts[cells[:, 0]], pts[cells[:, 1]], pts[cells[:, 2]]
    o = pts.mean(axis=0)
    signed = np.einsum("ij,ij->i", p0 - o, np.cross(p1 - o, p2 - o)).sum() / 6
    out = {
        "volume": mp.GetVolume(),
        "area": mp.GetSurfaceArea(),
        "signed_volume": float(signed),
        "bad_edges": fe.GetOutput().GetNumberOfCells(),
        "points": poly.GetNumberOfPoints(),
        "triangles": poly.GetNumberOfCells(),
        "bounds": list(poly.GetBounds()),
    }
    colours = poly.GetPointData().GetScalars()
    if colours is not None:
        out["first_colour"] = [int(c) for c in colours.GetTuple(0)]
    return out


def main():
    img = nib.load(sys.argv[1])
    data = np.asarray(img.dataobj)
    aff = img.affine
    result = {}
    for arg in sys.argv[2:]:
        label, stl, ply, obj = arg.split(":")
        mask = np.pad(data == int(label), 1).astype(np.uint8)
        verts, faces, _, _ = measure.marching_cubes(mask, 0.5)
        world = (verts - 1) @ aff[:3, :3].T + aff[:3, 3]
        result[label] = {
            "voxel_volume": float((data == int(label)).sum() * abs(np.linalg.det(aff[:3, :3]))),
            "skimage_area": float(measure.mesh_surface_area(world, faces)),
            "stl": describe(vtkSTLReader(), stl),
            "ply": describe(vtkPLYReader(), ply),
            "obj": describe(vtkOBJReader(), obj),
        }
    json.dump(result, sys.stdout)


main()
