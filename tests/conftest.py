import json
import os
import shutil

import pytest

HERE = os.path.dirname(__file__)


@pytest.fixture(scope="session")
def reference_values():
    """Independent mpmath (50-digit) values from tests/reference/make_reference.py."""
    with open(os.path.join(HERE, "reference", "values.json")) as fh:
        return json.load(fh)


@pytest.fixture
def pdflatex():
    """pdflatex path; in CI a missing compiler is a failure, elsewhere the test is skipped with a reason."""
    exe = shutil.which("pdflatex")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is not installed in CI (.ci/run must install texlive)")
        pytest.skip("pdflatex not installed (CI installs it)")
    return exe
