"""The `warroom` command: the same journal and services as the console, without the TUI."""

from __future__ import annotations

import os
import sys
import traceback

from warroom.cli.parser import UsageError, parse
from warroom.errors import WarroomError
from warroom.text import mask_text, safe_line


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
        from warroom.cli.commands import run

        return run(args)
    except UsageError as exc:
        print(safe_line(mask_text(f"{exc} (see --help)")), file=sys.stderr)
        return 2
    except WarroomError as exc:  # a URL's or DSN's password never reaches the terminal
        print(safe_line(mask_text(f"warroom: {exc}")), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `warroom show INC | head`: the reader left; say nothing more.
        sys.stderr.close()
        return 0
    except Exception as exc:  # a bug, not bad input: one line unless asked for more
        if os.environ.get("WARROOM_DEBUG"):
            traceback.print_exc()
        print(safe_line(mask_text(f"warroom: internal error: {type(exc).__name__}: {exc} "
                                  "(set WARROOM_DEBUG=1 for the traceback)")), file=sys.stderr)
        return 70


def entry_point() -> None:
    sys.exit(main())
