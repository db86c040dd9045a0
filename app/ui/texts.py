"""Words the window says to people, written once."""
from __future__ import annotations

PRIVACY_TEXT = """<h3>Nothing leaves this computer</h3>
<p>Docent reads, indexes and answers entirely on this machine. Your documents, the index
built from them, your questions, the answers and your chats are stored only in Docent's data
folder, readable by your user account alone.</p>
<ul>
<li>No account, no cloud, no telemetry: Docent sends no usage data anywhere.</li>
<li>The embedding model and the language model run locally.</li>
<li>The only network use is a model download that you start yourself.</li>
<li>A remote answer server is used only if you set <i>Answer backend</i> to <i>remote</i>
(off by default).</li>
</ul>"""

REEMBED_WARNING = ("Changing {names} means every document is split and embedded again. "
                   "Docent stays usable meanwhile, but answers use the old index until that "
                   "finishes, and on a large library it can take a long time.")

CORE_LOADING = "Opening the index…"
CORE_FAILED = "The library could not be opened: {message}"
MODEL_NONE = "No language model yet: choose one to get answers (documents can be added now)."
MODEL_LOADING = "Loading the language model…"
MODEL_ERROR = "The language model failed to load: {message}"
NO_DOWNLOAD = ("Docent's list of models could not be read (View > Log says why), so there is nothing to "
               "download: choose a GGUF file you already have.")
WATCH_OR_ONCE = ("Keep “{name}” in sync (new and changed files are indexed automatically), "
                 "or index what is in it now, once?")
REMOVE_FOLDER = ("Stop watching “{path}”?\n\nKeep its documents in the index (answers still use "
                 "them), or remove them from the index? Your files are never deleted.")
REFUSED_TITLE = "Some items were not added"
CLOSING = "Closing…"
SETTINGS_NOT_SAVED = "Not saved: {reason}"
