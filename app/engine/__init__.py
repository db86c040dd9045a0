"""The answering engine: retrieval, prompt, LLM. Works without a display."""
