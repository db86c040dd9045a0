"""Local GGUF models: catalog, download, validation, selection, hardware fit.

Submodules are imported explicitly (`from app.models.gguf import read_gguf_info`);
nothing is imported or computed here so that importing the package stays free.
"""
