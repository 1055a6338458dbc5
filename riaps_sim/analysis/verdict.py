"""The verdict of a run: one record that says whether the run was healthy, and counts why not.

Every checked property belongs to one ``Category``: safety (nothing bad happened), liveness
(something good happened in time), handler errors (user code raised: a handler or a
constructor) and membership (nobody joined a group, or a component's join failed). A run is
healthy when no category counts a violation; warnings (the protocols' ``warning`` rows) are
counted beside the verdict and never change it.

The verdict is computed from the trace alone (``checks.check_run``), so a simulated and a real
run of one scenario are judged by the same rules. Every command's exit status comes from it
(``exit_code``), and liveness can be left out of it (``liveness=False``, the command line's
``--no-liveness``), which the verdict's line then says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .invariants import Violation

__all__ = ["Category", "Verdict", "category_of", "CATEGORIES", "EXIT_OK", "EXIT_BAD"]

#: Exit status of a command whose run (or runs) had a good verdict.
EXIT_OK = 0
#: Exit status of a command that ran and whose verdict is bad.
EXIT_BAD = 1


class Category(StrEnum):
    """What kind of failure a violated property is."""

    SAFETY = "safety"
    LIVENESS = "liveness"
    HANDLER_ERRORS = "handler errors"
    MEMBERSHIP = "membership"


#: The category of every property the checks know. A property not listed (a run that raised in
#: ``explore``, say) counts as a safety violation: unknown failures never pass unnoticed.
CATEGORIES: dict[str, Category] = {
    "one_leader_per_term": Category.SAFETY,
    "poll_opened_before_announced": Category.SAFETY,
    "one_result_per_poll": Category.SAFETY,
    "vote_results_agree": Category.SAFETY,
    "no_delivery_outside_group": Category.SAFETY,
    "no_callback_after_leaving": Category.SAFETY,
    "no_crashed_loop": Category.SAFETY,
    "no_livelock": Category.SAFETY,  # the run could not go on: never left out with liveness
    "within_time_limit": Category.SAFETY,
    "no_handler_errors": Category.HANDLER_ERRORS,
    "components_built": Category.HANDLER_ERRORS,
    "members_joined": Category.MEMBERSHIP,
    "joins_succeeded": Category.MEMBERSHIP,
    "leader_after_faults": Category.LIVENESS,
    "leader_without_majority_steps_down": Category.LIVENESS,
    "polls_decided": Category.LIVENESS,
}


def category_of(prop: str) -> Category:
    """The ``Category`` of property *prop* (``SAFETY`` for one the checks do not know)."""
    return CATEGORIES.get(prop, Category.SAFETY)


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """How many violations of each category a run had, whether liveness was judged, and the result.

    ``liveness`` counts the liveness violations found even when ``liveness_judged`` is false, so
    the summary can say what was left out; they then do not make the verdict bad.

    Examples
    --------
    >>> v = Verdict(safety=0, liveness=1, handler_errors=0, membership=0)
    >>> v.ok, v.exit_code
    (False, 1)
    >>> Verdict(safety=0, liveness=1, handler_errors=0, membership=0, liveness_judged=False).ok
    True
    """

    safety: int
    liveness: int
    handler_errors: int
    membership: int
    warnings: int = 0
    liveness_judged: bool = True

    def __post_init__(self) -> None:
        for name in ("safety", "liveness", "handler_errors", "membership", "warnings"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"Verdict.{name} must be a count (an int >= 0), got {value!r}")

    @classmethod
    def of(cls, violations: Iterable[Violation], *, warnings: int = 0, liveness: bool = True) -> Verdict:
        """The verdict on *violations* (every category counted), with *warnings* beside it.

        *liveness* false leaves the liveness violations out of the result (they are still counted).
        """
        counts = dict.fromkeys(Category, 0)
        for violation in violations:
            counts[category_of(violation.invariant)] += 1
        return cls(
            safety=counts[Category.SAFETY],
            liveness=counts[Category.LIVENESS],
            handler_errors=counts[Category.HANDLER_ERRORS],
            membership=counts[Category.MEMBERSHIP],
            warnings=warnings,
            liveness_judged=liveness,
        )

    def count(self, category: Category) -> int:
        """The violations of *category*."""
        return {
            Category.SAFETY: self.safety,
            Category.LIVENESS: self.liveness,
            Category.HANDLER_ERRORS: self.handler_errors,
            Category.MEMBERSHIP: self.membership,
        }[category]

    def judged(self, category: Category) -> bool:
        """Whether *category* counts towards the verdict (all do, but liveness when left out)."""
        return category != Category.LIVENESS or self.liveness_judged

    @property
    def failures(self) -> int:
        """The violations that make the verdict bad."""
        return sum(self.count(c) for c in Category if self.judged(c))

    @property
    def ok(self) -> bool:
        """True when no judged category has a violation: the run was healthy."""
        return self.failures == 0

    @property
    def exit_code(self) -> int:
        """The exit status this verdict gives a command: ``EXIT_OK`` (0) or ``EXIT_BAD`` (1)."""
        return EXIT_OK if self.ok else EXIT_BAD

    def line(self) -> str:
        """The verdict in one line, e.g. ``verdict: BAD: safety 0, liveness 1, handler errors 0, membership 0; warnings 0 (not counted)``;
        liveness left out reads ``liveness left out (1 found)``."""
        parts = []
        for category in Category:
            n = self.count(category)
            parts.append(f"{category} {n}" if self.judged(category) else f"{category} left out ({n} found)")
        return f"verdict: {'OK' if self.ok else 'BAD'}: {', '.join(parts)}; warnings {self.warnings} (not counted)"

    def __str__(self) -> str:
        return self.line()
