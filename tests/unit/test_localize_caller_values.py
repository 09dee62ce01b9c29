"""What the innermost caller passed to the raising function (``localize.find_definitions``): the
local variables of the call, one step back to the values they were computed from, resolved in
the repository as the raising line's names are."""

from __future__ import annotations

from chalicelib.core.localize import localize
from chalicelib.core.models import Frame, RaisedException

# pytest 8 (shape): the summary line concatenates the verbose word a plugin returned as a tuple
WRITER = """class TerminalWriter:
    def markup(self, text, **markup):
        esc = [v for k, v in markup.items() if v]
        text = "".join(f"[{cod}m" for cod in esc) + text + "[0m"
        return text
"""
TERMINAL = '''def _get_line_with_reprcrash_message(config, rep, tw, word_markup):
    """Get summary line for a report."""
    verbose_word = rep._get_verbose_word(config)
    word = tw.markup(verbose_word, **word_markup)
    unrelated = rep._other_helper(config)
    return word + unrelated
'''
REPORTS = """class BaseReport:
    def _get_verbose_word(self, config):
        _category, _short, verbose = config.hook.pytest_report_teststatus(report=self, config=config)
        return verbose

    def _other_helper(self, config):
        return ""
"""


def _trace() -> RaisedException:
    return RaisedException(
        "TypeError",
        'can only concatenate str (not "tuple") to str',
        (
            Frame("/src/_pytest/terminal.py", 4, "_get_line_with_reprcrash_message", "word = tw.markup(verbose_word)"),
            Frame("/src/_pytest/_io/terminalwriter.py", 4, "markup", 'text = "".join(x) + text + "[0m"'),
        ),
    )


def test_the_function_that_computed_the_callers_argument_is_reached() -> None:
    # GIVEN the raising line concatenating the parameter the caller passed
    repo = {
        "src/_pytest/_io/terminalwriter.py": WRITER,
        "src/_pytest/terminal.py": TERMINAL,
        "src/_pytest/reports.py": REPORTS,
    }
    # WHEN
    found = localize((_trace(),), repo, repo.get, retrieve=False)
    # THEN the method that returned the caller's ``verbose_word`` is a definition; what the caller
    # computed but did not pass to the raising function is not
    names = {(d.name, d.path, d.start) for d in found.definitions}
    assert ("_get_verbose_word", "src/_pytest/reports.py", 2) in names
    assert all(d.name != "_other_helper" for d in found.definitions)


def test_a_caller_passing_no_local_adds_nothing() -> None:
    terminal = TERMINAL.replace("tw.markup(verbose_word, **word_markup)", 'tw.markup("PASSED")')
    repo = {
        "src/_pytest/_io/terminalwriter.py": WRITER,
        "src/_pytest/terminal.py": terminal,
        "src/_pytest/reports.py": REPORTS,
    }
    found = localize((_trace(),), repo, repo.get, retrieve=False)
    assert all(d.path != "src/_pytest/reports.py" for d in found.definitions)
