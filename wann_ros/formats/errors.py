"""The one error type for a policy file that cannot be used."""

from __future__ import annotations

from wann_ros.policies.spec import PolicySpecError


class PolicyFileError(PolicySpecError):
    """A policy file is unreadable or malformed (truncated, corrupted, wrong version, bad values...).

    The message names the problem; a subclass of PolicySpecError (and so of ValueError).
    """
