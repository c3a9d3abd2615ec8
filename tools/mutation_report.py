"""What a mutation run found (``tools/mutation.py``): its mutants read back from the cosmic-ray
session, the reviewed equivalents, and the report (survivors with their diff, the score)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class MutationError(ValueError):
    """Bad input to the runner; str() is one line."""


@dataclass(frozen=True)
class Mutant:
    job_id: str
    operator: str
    line_no: int
    line: str  # the original source line, whitespace normalised
    outcome: str  # killed, survived, incompetent
    diff: str

    @property
    def mutated(self) -> str:
        """The first line the mutant changed, as mutated (whitespace normalised)."""
        added = [ln[1:] for ln in self.diff.splitlines()
                 if ln.startswith("+") and not ln.startswith("+++") and ln[1:].strip()]
        return normal(added[0]) if added else ""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.operator, self.line, self.mutated


@dataclass(frozen=True)
class Equivalent:
    operator: str
    line: str
    mutant: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.operator, self.line, self.mutant


def normal(text: str) -> str:
    return " ".join(text.split())


def read_mutants(session: Path) -> list[Mutant]:
    """The session's mutants that ran (not filtered out, not impossible), each with its source
    line as its diff shows it (so a kept session can be reported after the code moved on)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome

    mutants = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome in (WorkerOutcome.SKIPPED, WorkerOutcome.NO_TEST):
                continue
            (spec,) = item.mutations
            line_no = spec.start_pos[0]
            removed = [ln[1:] for ln in (result.diff or "").splitlines()  # blank lines say nothing
                       if ln.startswith("-") and not ln.startswith("---") and ln[1:].strip()]
            mutants.append(Mutant(item.job_id, spec.operator_name, line_no,
                                  normal(removed[0]) if removed else "", _outcome(result),
                                  result.diff or ""))
    return sorted(mutants, key=lambda m: (m.line_no, m.operator))


def _outcome(result) -> str:
    """killed, survived or incompetent (a mutant the tests cannot even start with)."""
    return result.test_outcome.value if result.test_outcome is not None else "incompetent"


def report(module: str, mutants: list[Mutant], equivalents: list[Equivalent]) -> float:
    reviewed = {e.key for e in equivalents}
    survivors = [m for m in mutants if m.outcome == "survived"]
    equivalent = [m for m in survivors if m.key in reviewed]
    live = [m for m in survivors if m.key not in reviewed]
    for m in live:
        print(f"\nSURVIVED {m.operator} line {m.line_no}: {m.line}\n{_diff_body(m.diff)}")
        print(f"  as an equivalent: operator = {m.operator!r}, line = {m.line!r}, mutant = {m.mutated!r}")
    for m in equivalent:
        print(f"equivalent (reviewed) {m.operator} line {m.line_no}: {m.mutated}")
    stale = reviewed - {m.key for m in equivalent}
    for operator, _line, mutant in sorted(stale):
        print(f"note: reviewed equivalent not seen surviving (changed or killed): {operator}: {mutant}")
    counted = len(mutants) - len(equivalent)
    killed = counted - len(live)
    score = killed / counted if counted else 1.0
    print(f"\n{module}: {killed}/{counted} killed = {score:.1%} "
          f"({len(mutants)} tried, {len(equivalent)} reviewed equivalent, {len(live)} survived)")
    return score


def _diff_body(diff: str) -> str:
    kept = (line for line in diff.splitlines() if line[:1] in "+-@" and line[:3] not in ("---", "+++"))
    return "\n".join(kept)
