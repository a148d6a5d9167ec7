"""Ingest: turn inputs into the compiler's IR.

``description`` reads the JSON scene description, ``tagged_glb`` a cell/portal-tagged GLB
exported from Blender, ``assets`` the uploaded GLB / OBJ / PNG assets a description places.
``gltf_read``, ``obj_read`` and ``surfaces`` are the readers and array helpers beneath them.
"""
