"""Shared helper of the unit tests of the notebooks' checks."""

from __future__ import annotations

import pytest

from course_utils.checks.core import CheckFailed


def fails(check, answer, *fragments):
    """Run a check expected to fail; assert its message holds every fragment."""
    with pytest.raises(CheckFailed) as info:
        check(answer)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message
