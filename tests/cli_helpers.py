"""Running the command line in-process from tests (shared by test_cli and test_user_model)."""
import json

from replica.cli import main


def run(capsys, *argv):
    """``replica argv...`` in-process: (exit status, stdout, stderr)."""
    try:
        rc = main(list(argv))
    except SystemExit as exc:          # argparse errors and `verify` failures exit this way
        rc = exc.code
    except Exception as exc:           # what a user would see as a traceback
        out, err = capsys.readouterr()
        return f"uncaught {type(exc).__name__}: {exc}", out, err + "Traceback (in-process)\n"
    out, err = capsys.readouterr()
    return rc, out, err


def run_json(capsys, *argv):
    rc, out, err = run(capsys, *argv)
    assert rc == 0, f"exit {rc}; stderr: {err}"
    return json.loads(out)
