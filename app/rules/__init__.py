"""The pure rules engine: règlements as data, typed facts, evaluation and French explanations.

Nothing here performs I/O or reads the clock; `rules` imports nothing from `services` or `routers`.

The entry point for evaluating many households against one règlement at one date:

    plan = compile_plan(reglement, date_reference)   # compiled once, then kept (bounded LRU)
    plan.evaluer(faits)    # -> Evaluation: every aid, every condition explained
    plan.verdicts(faits)   # -> tuple[Verdict, ...]: status, amount, tranche, deciding codes only
"""

from app.rules.compiled import CompiledPlan, Verdict, compile_plan

__all__ = ["CompiledPlan", "Verdict", "compile_plan"]
