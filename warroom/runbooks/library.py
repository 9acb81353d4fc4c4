"""The runbooks on this machine: ``<config dir>/warroom/runbooks/*.md`` and the files and
directories ``runbooks = [...]`` in warroom.toml names (relative to that file). A file that
can't be read or parsed is one warning line naming the file and the line; the others load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from warroom.domain.runbook import Runbook, RunbookError, parse
from warroom.domain.runbook_options import ActionRef
from warroom.paths import config_dir


@dataclass
class Library:
    runbooks: dict[str, Runbook] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def get(self, name: str) -> Runbook:
        from warroom.errors import NotFound

        try:
            return self.runbooks[name]
        except KeyError:
            known = ", ".join(sorted(self.runbooks)) or "none found"
            raise NotFound(f"no runbook named {name!r}", f"runbooks: {known}") from None

    def for_services(self, services: Iterable[str]) -> list[Runbook]:
        wanted = set(services)
        return [r for r in self.runbooks.values() if wanted & set(r.services)]

    def for_check(self, check: str) -> list[Runbook]:
        return [r for r in self.runbooks.values() if check in r.checks]


def default_dir() -> Path:
    return config_dir() / "runbooks"


def read_runbook(path: Path) -> Runbook:
    """One file; RunbookError (line 0 for a file that can't be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RunbookError(0, f"not valid UTF-8 (byte {exc.start + 1})") from None
    except OSError as exc:
        raise RunbookError(0, f"cannot read: {(exc.strerror or str(exc)).lower()}") from None
    return parse(path.stem, text)


def warning(path: Path, exc: RunbookError) -> str:
    where = f"{path}:{exc.line}" if exc.line else str(path)
    return f"runbook {where}: {exc.message}"


def files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix == ".md" and p.is_file()))
        else:
            out.append(path)
    return out


def configured_paths(config: Any) -> list[Path]:
    """The default directory (when it exists) and the config's ``runbooks`` paths."""
    base = config.source.parent if getattr(config, "source", None) else Path.cwd()
    paths = [default_dir()] if default_dir().is_dir() else []
    for path in getattr(config, "runbooks", ()):
        paths.append(path if path.is_absolute() else base / path)
    return paths


def load(paths: Iterable[Path]) -> Library:
    library = Library()
    for path in files(paths):
        if not path.exists():
            library.warnings.append(f"runbook {path}: no such file or directory")
            continue
        try:
            runbook = read_runbook(path)
        except RunbookError as exc:
            library.warnings.append(warning(path, exc))
            continue
        if runbook.name in library.runbooks:
            library.warnings.append(f"runbook {path}: a runbook named {runbook.name!r} was already "
                                    f"loaded from {library.sources[runbook.name]}; this one is ignored")
            continue
        library.runbooks[runbook.name] = runbook
        library.sources[runbook.name] = path
    return library


def load_configured(config: Any) -> Library:
    return load(configured_paths(config))


def action_refs(config: Any) -> list[ActionRef]:
    return [ActionRef(a.name, a.kind, getattr(a, "namespace", None), getattr(a, "deployment", None))
            for a in config.actions]


def reviews(library: Library, config: Any) -> dict[str, "Review"]:
    """What the postmortem needs of each runbook: its steps, and its options' actions."""
    from warroom.domain.runbook_options import match_options
    from warroom.domain.runbook_progress import Review

    refs = action_refs(config)
    return {name: Review(name, book.title, tuple((s.number, s.title) for s in book.steps),
                         frozenset(m.action for m in match_options(book, refs) if m.action))
            for name, book in library.runbooks.items()}
