"""Errors the engine reports to people (CLI, GUI, log). Wording lives here, once."""
from __future__ import annotations


class DocentError(Exception):
    """Base for errors with a message meant for the user."""

    exit_code = 1


NO_MODEL = ("No language model is selected. Either download the default one with "
            "`docent model download` (about 1.9 GB, asks before it starts), or answer with a "
            "GGUF file you already have: `docent ask \"...\" --model /path/to/model.gguf`.")
NO_MODEL_IN_WINDOW = ("No language model is selected. Choose one with File > Choose model…: download the "
                      "default one (about 1.9 GB, asks before it starts), or use a GGUF file you already have.")


class NoModelError(DocentError):
    def __init__(self) -> None:
        super().__init__(NO_MODEL)


class ModelLoadError(DocentError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"Could not load the model {path}: {reason}")


class EmptyIndexError(DocentError):
    def __init__(self) -> None:
        super().__init__("Nothing is indexed yet. Add documents first: `docent index PATH`.")


class IndexBusyError(DocentError):
    """Another live Docent process holds the index (`holder`: app.engine.owner_lock.LockHolder,
    None when its record is missing or stale)."""

    def __init__(self, path: str, holder: object = None, waited_s: float = 0.0) -> None:
        self.path, self.holder = path, holder
        who = _process(holder)
        if waited_s:
            text = (f"Docent waited {waited_s:.0f} s for {who} to finish with the index at {path}, "
                    "and it still holds it. Close that process and try again, or set DOCENT_HOME "
                    "to use another data folder.")
        else:
            text = (f"The index at {path} is in use by {who}. Close it, or set DOCENT_HOME to "
                    "use another data folder.")
        super().__init__(text)


def _process(holder: object) -> str:
    describe = getattr(holder, "describe", None)
    return f"another Docent process ({describe()})" if describe else "another Docent process"


def index_wait_message(holder: object) -> str:
    """What a starting owner (`docent serve`, the window) says while it waits for the index."""
    return f"Waiting for {_process(holder)} to finish with the index…"


INDEX_RELEASED_MESSAGE = "The other Docent process let go of the index; opening it now."


def command_waits_message(holder: object) -> str:
    return (f"The index is in use by {_process(holder)}; waiting for it to answer this command "
            "or to let go of the index...")


class IndexLockError(DocentError):
    """The owner lock file cannot be created or opened (read-only disk, permissions)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"Docent cannot create its lock file {path} ({reason}). Its data folder must be on a "
            "writable disk with free space: check the folder's permissions, or set DOCENT_HOME "
            "to another data folder.")


class EmbedderMissingError(DocentError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"The embedding model was not found at {path!r}. Reinstall Docent, or set "
            "`embedder_path` in settings.json to a sentence-transformers folder.")


class RerankerError(DocentError):
    """`reranker_path` names a folder that holds no usable cross-encoder."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"The reranker at {path} cannot be used: {reason}. Choose a cross-encoder folder "
            "(Settings > Answers > Reranker path; `reranker_path` in settings.json), or clear "
            "the setting to rank without one.")


# --- settings (app/settings.py) ----------------------------------------------
# One line per bad value; the load report and SettingsInvalidError join them.

def setting_unknown(name: str) -> str:
    return f"There is no setting called {name!r}."


def setting_wrong_type(name: str, expected: str, value: object) -> str:
    return f"{name} must be {expected}, not {value!r}."


def setting_not_a_choice(name: str, choices: tuple[str, ...], value: object) -> str:
    return f"{name} must be one of {', '.join(choices)}, not {value!r}."


def setting_out_of_range(name: str, minimum: float | None, maximum: float | None,
                         value: object) -> str:
    if minimum is not None and maximum is not None:
        bound = f"between {minimum:g} and {maximum:g}"
    elif minimum is not None:
        bound = f"at least {minimum:g}"
    else:
        bound = f"at most {maximum:g}"
    return f"{name} must be {bound}, not {value!r}."


def setting_overlap_too_large(overlap: int, chunk_tokens: int) -> str:
    return (f"chunk_overlap ({overlap}) must be at most half of chunk_tokens ({chunk_tokens}).")


def settings_unreadable(path: str, reason: str) -> str:
    return f"Could not read the settings file {path} ({reason}); default settings are used."


def settings_not_json(path: str, reason: str) -> str:
    return f"The settings file {path} is not valid JSON ({reason}); default settings are used."


def settings_not_object(path: str) -> str:
    return (f"The settings file {path} does not hold a JSON object of settings; default "
            "settings are used.")


def settings_bad_values_used_defaults() -> str:
    return "Defaults are used for those values; the other settings are kept."


def settings_kept_aside(aside: str) -> str:
    return f"The original file was kept as {aside}."


def settings_unknown_kept(names: tuple[str, ...]) -> str:
    listed = ", ".join(repr(n) for n in names)
    return (f"settings.json has settings this version does not know ({listed}); they are "
            "ignored and left in the file.")


def settings_not_saved(path: str, reason: str) -> str:
    return f"Could not write the settings file {path} ({reason})."


class SettingsInvalidError(DocentError):
    """A settings change was refused; nothing was changed. `problems`: one message per bad value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("Settings were not changed. " + " ".join(self.problems))


class SettingsSaveError(DocentError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(settings_not_saved(path, reason))


# --- chats (app/core/chats.py) ------------------------------------------------

class ChatsCorruptError(DocentError):
    """The chats database could not be read; it was moved aside and a new one can be opened."""

    def __init__(self, path: str, aside: str, reason: str) -> None:
        self.path, self.aside = path, aside
        super().__init__(
            f"The saved chats in {path} could not be read ({reason}). The file was kept as "
            f"{aside}; Docent starts again with no saved chats.")


class ChatsTooNewError(DocentError):
    def __init__(self, path: str, version: int, known: int) -> None:
        super().__init__(
            f"The saved chats in {path} were written by a newer Docent (format {version}; this "
            f"version reads up to {known}). Update Docent, or set DOCENT_HOME to another folder.")


class ChatStorageError(DocentError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Could not save or read the chat history: {reason}")


class ChatNotFoundError(DocentError):
    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        super().__init__(f"That chat (#{chat_id}) no longer exists.")


class OwnerStoppedError(DocentError):
    """The process that owns the index went away while it was answering this command."""

    def __init__(self, pid: int) -> None:
        super().__init__(
            f"The Docent process that owns the index (pid {pid}) stopped before it finished this "
            "request (files it had queued are indexed when it runs again). Run the command again.")


class OwnerRequestError(DocentError):
    """The owning process was reached and refused or failed a request; `message` is its own."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def owner_failed_message(detail: str) -> str:
    return f"The Docent process that owns the index could not do that: {detail}"


def owner_reply_not_understood(detail: str) -> str:
    return (f"The Docent process that owns the index sent a reply this version does not "
            f"understand ({detail}); run the same version of Docent in both shells.")


def bad_request_message(detail: str) -> str:
    return f"The Docent process that owns the index did not understand the request: {detail}"


OWNER_BUSY_MESSAGE = ("The Docent process that owns the index is answering too many commands at "
                      "once; try again in a moment.")


# --- the application core (app/core/) ------------------------------------------

def answer_failed_message(detail: str) -> str:
    return f"The answer could not be completed: {detail}"


def index_write_failed_message(detail: str) -> str:
    return (f"A change to the index failed ({detail}). Nothing half-written was kept; the "
            "files involved are indexed again at the next change or start.")


def worker_died_message(worker: str, detail: str, restarted: bool) -> str:
    then = "It was restarted." if restarted else (
        "It was not restarted (it kept failing); restart Docent, and report this if it persists.")
    return f"Docent's {worker} thread stopped on an error ({detail}). {then}"


def core_start_failed_message(detail: str) -> str:
    return f"Docent could not open its library: {detail}"


def not_a_folder_message(path: str) -> str:
    return f"{path} is not a folder (or is not reachable now), so it cannot be watched."


# --- grounding an answer (app/engine/grounding.py, figures.py) ---------------------

def grounding_no_sources_note() -> str:
    return "Docent found no passages for this question in the documents, so nothing here comes from them."


def no_answer_note(looked_at: str) -> str:
    return ("The model gave no answer, only a list of sources. Ask again, or rephrase the question; "
            f"Docent looked at: {looked_at}.")


def grounding_refused_note(looked_at: str) -> str:
    return f"The documents do not contain this. Docent looked at: {looked_at}."


def grounding_missing_note(missing: tuple[str, ...], looked_at: str) -> str:
    names = ", ".join(repr(m) for m in missing)
    return (f"Docent could not ground this answer: {names} appear{'s' if len(missing) == 1 else ''} "
            f"in none of the passages it looked at ({looked_at}). The documents may not contain it; "
            "the answer may rest on other documents or on the model's own knowledge.")


def grounding_no_overlap_note(looked_at: str) -> str:
    return (f"Docent could not find what this answer says in the passages it looked at ({looked_at}); "
            "the documents may not contain it.")


def repetition_note() -> str:
    return "(stopped: the answer started repeating itself)"


def unverified_figure_note(figure: str, found_in: tuple[int, ...]) -> str:
    if found_in:
        where = ", ".join(f"[{n}]" for n in found_in)
        return f"unverified figure {figure}: not in the sources its sentence cites (it is in {where})"
    return f"unverified figure {figure}: in none of the sources Docent gave the model"


def owner_cannot_message(what: str) -> str:
    return (f"The Docent process that owns the index cannot {what} for another shell; "
            "close it and run the command again.")


def not_watched_message() -> str:
    return "Not a watched folder (`docent watch` lists them)."


def owner_model_in_use_message(loaded: str, asked: str) -> str:
    # Refused rather than swapped: the owner (the window, `docent serve`) keeps one model in
    # memory, and loading a second beside it could need gigabytes more.
    return (f"The Docent process that owns the index answers with {loaded}; it does not load "
            f"{asked} beside it. Ask without --model, or close that process to use another model.")


# --- computed answers (app.engine.computation) ---------------------------------------------
def computed_heading(result: str, formula: str) -> str:
    return f"{result}, computed by Docent as {formula}:"


def computed_note(formula: str, sources: str) -> str:
    return f"Computed by Docent, not written by the model: {formula}, from the figures in {sources}."


def quoted_heading(result: str) -> str:
    return f"{result}, as the source states it:"


def compute_missing_input(letter: str, label: str, cited: int) -> str:
    return (f"Docent could not compute this: the figure given for {letter} ({label}) is not in source [{cited}] "
            "nor in any other source given, so no number is shown.")


def compute_not_in_sources(what: str) -> str:
    return f"The documents do not contain {what}, so Docent cannot compute this."


def compute_no_inputs() -> str:
    return ("Docent could not compute this: the model named no figures from the sources to compute it from. "
            "Ask again naming the figures, or ask for each figure on its own.")


def compute_formula_failed(detail: str) -> str:
    return f"Docent could not compute this: {detail}, so no number is shown."


def compute_found_inputs() -> str:
    return "Figures found:"


def compute_progress() -> str:
    return "Finding the figures to compute from"


def compute_stray_number(number: str) -> str:
    return f"the formula uses {number}, which is no figure Docent could find in the sources"


def compute_wrong_kind(gives: str, asked: str) -> str:
    return f"the formula the model gave yields {gives}, but the question asks for {asked}"


def compute_same_figure(first: str, second: str) -> str:
    return f"{first} and {second} are one and the same figure in the sources"


def compute_unclear_scale(letter: str, figure: str, other: str, scale: str) -> str:
    return (f"the source of {letter} ({figure}) does not say whether it is in units, thousands or millions, "
            f"while {other} is in {scale}")


# --- the window's wording -------------------------------------------------------------------
# The core's messages reach the window and, through the local service, other shells' commands.
# One that tells people to run a command is said in the window as what to do there instead
# (app/ui/bridge.py rewords every core event's message on its way in).
_IN_WINDOW: dict[str, str] = {NO_MODEL: NO_MODEL_IN_WINDOW}


def in_window(message: str) -> str:
    """`message` as the window says it: each command-line instruction in it replaced by its window version."""
    for cli, window in _IN_WINDOW.items():
        if cli in message:
            message = message.replace(cli, window)
    return message
