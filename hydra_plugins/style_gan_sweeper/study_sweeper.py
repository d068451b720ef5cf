"""Hydra's Optuna sweeper with a study that outlives its command.

The stock sweeper (hydra-optuna-sweeper 1.3) runs ``n_trials`` more trials each time it is
started on an existing study, numbers its jobs from 0 again (over the folders of the earlier
run), leaves the trial that was running when it was interrupted as RUNNING for good, and
needs the direction written beside the metric. Here:

- ``n_trials`` is the study's total: a re-run runs only the trials still missing (finished
  and pruned trials count; failed ones are run again);
- job numbers go on from the study's trial count, so trial N runs in folder N;
- a continued study draws new parameters: the sampler (a partial) is seeded with its seed plus
  the study's trial count, where the stock sweeper's fixed seed proposes trial 0's again;
- trials left RUNNING by an interrupted or killed sweep are marked FAIL, at the interruption
  or, after a kill, at the next start;
- the direction is the objective's own (``optimized_metric``; see style_gan/run/objective.py).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class StudySweeper(OptunaSweeper):
    """OptunaSweeper whose study resumes where it stopped (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.total_trials = self.sweeper.n_trials

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from style_gan.errors import ConfigError
        from style_gan.run.objective import objective_direction, suite_directions

        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        objective = config.get("optimized_metric")
        if not objective:
            raise ConfigError(
                "a search needs the metric it optimises: optimized_metric=val/<metric>[_best]"
            )
        higher = objective_direction(objective, suite_directions(config.get("metrics")))
        self.sweeper.direction = "maximize" if higher else "minimize"

    def sweep(self, arguments: list[str]) -> None:
        import optuna

        from style_gan.errors import StyleGanError

        impl = self.sweeper
        Path(impl.sweep_dir).mkdir(parents=True, exist_ok=True)
        study = optuna.create_study(
            study_name=impl.study_name,
            storage=impl.storage,
            direction=impl.direction,
            load_if_exists=True,
        )
        fail_unfinished_trials(study)
        done = len(
            study.get_trials(
                deepcopy=False,
                states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED),
            )
        )
        impl.n_trials = max(0, self.total_trials - done)
        impl.job_idx = len(study.trials)
        if isinstance(impl.sampler, functools.partial) and impl.sampler.func is not (
            optuna.samplers.GridSampler  # built by the stock sweeper from the search space
        ):
            seed = impl.sampler.keywords.get("seed")
            advanced = {} if seed is None else {"seed": seed + impl.job_idx}
            impl.sampler = impl.sampler(**advanced)
        log.info(
            "study %s: %d of %d trials done, %d to run, from job %d",
            impl.study_name,
            done,
            self.total_trials,
            impl.n_trials,
            impl.job_idx,
        )
        complete = (optuna.trial.TrialState.COMPLETE,)
        try:
            super().sweep(arguments)
        except ValueError as error:
            # The stock sweeper ends by asking for the best trial, which fails without one.
            if study.get_trials(deepcopy=False, states=complete):
                raise
            raise StyleGanError(
                f"no trial of study {impl.study_name} has finished (each job's error is above; "
                f"`style-gan-summary {impl.sweep_dir}` lists them)"
            ) from error
        finally:
            fail_unfinished_trials(study)


def fail_unfinished_trials(study: Any) -> None:
    """Mark the study's RUNNING trials FAIL: their job ended without telling Optuna. (One sweep
    command at a time per study: a second one's running trials would be marked too.)"""
    import optuna

    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        log.info("trial %d did not finish (interrupted or killed): marked failed", trial.number)
