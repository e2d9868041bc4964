"""polvo's SDK generator: pinned OpenAPI specs → typed async clients in ``generated/``.

Run as ``python -m generator`` (``make generate``). Stages, one module each: pins
(``_pins``), loading and ``$ref`` resolution (``_loader``), the typed intermediate
representation (``_ir``), schemas → types and models (``_schemas``), operations and naming
(``_operations``, ``_naming``), code expressions for templates (``_codegen``), rendering
(``_render``) and the per-provider report (``_report``).
"""

__all__: list[str] = []
