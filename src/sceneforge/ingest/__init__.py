"""Ingest: turn inputs into the compiler's IR.

``description`` reads the JSON scene description, ``tagged_glb`` a cell/portal-tagged GLB
exported from Blender (its tags read by ``glb_tags``, its portal nodes by ``glb_portals`` and
``portal_outline``), ``assets`` the uploaded GLB / OBJ / PNG assets a description places.
``gltf_read`` (over ``gltf_json``, ``glb_container``, ``gltf_primitives``, ``gltf_accessors``,
``gltf_materials`` and ``gltf_document``), ``obj_read`` and ``surfaces`` are the readers and array helpers
beneath them.
"""
