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
    """pdflatex path. A missing compiler fails the test (a skipped export test proves nothing):
    install it with `apt-get install texlive-latex-base texlive-latex-recommended`, as .ci/run does."""
    exe = shutil.which("pdflatex")
    if exe is None:
        pytest.fail("pdflatex is not installed: apt-get install texlive-latex-base texlive-latex-recommended")
    return exe
