"""sweepd's `wandb` module for sweep trials.

A W&B sweep program reads its parameters from `wandb.config` after `wandb.init()` and
reports with `wandb.log`. In a sweepd program trial this module stands in for W&B's: it
needs no account and no network. `wandb.config` holds the trial's parameters (from
SWEEPD_PARAMS_FILE), and each committed `wandb.log` step is one line on sweepd's metrics
channel (the descriptor in SWEEPD_METRICS_FD).

It covers what sweeps use; anything else raises an error naming the call. Put
`wandb: real` in the sweep config (or start the worker with --no-wandb-shim) to use
W&B's own package instead.
"""

import json
import math
import os
import sys

__version__ = "0.0.0+sweepd"
_SWEEPD = True


def _unsupported(name):
    return AttributeError(
        "wandb.%s is not available: sweepd's wandb module runs sweeps only (init, config, log, "
        "summary, define_metric, finish, mark_preempting). Put `wandb: real` in the sweep config "
        "to use W&B's own package." % name)


def _number(value):
    """A number the metrics channel takes, or None (images, tables, text…)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    item = getattr(value, "item", None)  # numpy scalars, one-element tensors
    if callable(item):
        try:
            value = item()
        except Exception:
            return None
        if isinstance(value, (bool, int, float)):
            return float(value)
    return None


def _flatten(values, prefix=""):
    flat = {}
    for key, value in values.items():
        name = "%s%s" % (prefix, key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "/"))
        else:
            flat[name] = value
    return flat


class _Channel:
    def __init__(self):
        fd = os.environ.get("SWEEPD_METRICS_FD")
        self.file = os.fdopen(int(fd), "w", buffering=1, closefd=False) if fd else None

    def write(self, values, step):
        numbers = {}
        for key, value in values.items():
            number = _number(value)
            if number is not None:
                numbers[key] = number
        if not numbers or self.file is None:
            return
        line = dict(numbers)
        line["step"] = step
        # json.dumps writes nan/inf as NaN/Infinity, which the channel reads.
        self.file.write(json.dumps(line) + "\n")


class Config(object):
    """`wandb.config`: attribute and item access to the trial's parameters."""

    def __init__(self, values=None):
        object.__setattr__(self, "_items", dict(values or {}))

    def __getattr__(self, name):
        try:
            return self._items[name]
        except KeyError:
            raise AttributeError("wandb.config has no key %r (it has: %s)" % (name, ", ".join(sorted(self._items))))

    def __setattr__(self, name, value):
        self._items[name] = value

    def __getitem__(self, name):
        return self._items[name]

    def __setitem__(self, name, value):
        self._items[name] = value

    def __contains__(self, name):
        return name in self._items

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __repr__(self):
        return repr(self._items)

    def get(self, name, default=None):
        return self._items.get(name, default)

    def keys(self):
        return self._items.keys()

    def items(self):
        return self._items.items()

    def values(self):
        return self._items.values()

    def as_dict(self):
        return dict(self._items)

    def update(self, values=None, allow_val_change=None, **more):
        values = _as_mapping(values)
        values.update(more)
        self._items.update(values)

    def setdefaults(self, values):
        for key, value in _as_mapping(values).items():
            self._items.setdefault(key, value)

    def persist(self):
        pass


class Summary(dict):
    """`run.summary`: values written here are reported as the step's metrics too."""

    def __init__(self, run):
        dict.__init__(self)
        self._run = run

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        self._run._report_summary({key: value})

    def update(self, values=None, **more):
        values = dict(values or {}, **more)
        for key, value in values.items():
            dict.__setitem__(self, key, value)
        self._run._report_summary(values)


def _as_mapping(values):
    if values is None:
        return {}
    if isinstance(values, Config):
        return values.as_dict()
    if isinstance(values, dict):
        return dict(values)
    if hasattr(values, "__dict__"):  # argparse.Namespace and the like
        return dict(vars(values))
    raise TypeError("wandb config must be a dict or an argparse.Namespace, not %s" % type(values).__name__)


_AGGREGATIONS = ("min", "max", "mean", "best", "last", "first", "none", "copy")


class _Metric(object):
    """What `define_metric` declares. With `summary` ("min", "max", "mean", "best", "last",
    "first", "none", or several joined by commas), the run's summary holds those aggregates
    of the metric's history instead of its last value: `run.summary["acc"] == {"max": …}`,
    and each step also reports them as `acc.max`, … (W&B's names for them), so a sweep can
    rank by `metric: {name: acc.max}`. "best" takes `goal` ("minimize" or "maximize")."""

    def __init__(self, name, summary=None, goal=None, **settings):
        self.name = name
        self.settings = settings
        self.aggregations = None
        if summary is not None:
            words = [word.strip().lower() for word in str(summary).split(",") if word.strip()]
            for word in words:
                if word not in _AGGREGATIONS:
                    raise ValueError("define_metric(%r, summary=%r): %r is not one of %s" % (
                        name, summary, word, ", ".join(_AGGREGATIONS)))
            if "best" in words and goal not in ("minimize", "maximize", "min", "max"):
                raise ValueError("define_metric(%r, summary='best') needs goal='minimize' or goal='maximize'" % name)
            self.aggregations = [word for word in words if word != "copy"]
        self.goal = goal
        self._state = {}

    def matches(self, key):
        if self.name.endswith("*"):
            return key.startswith(self.name[:-1])
        return key == self.name

    def update(self, key, number):
        """The aggregates of `key`'s history with `number` appended."""
        state = self._state.setdefault(key, {"count": 0, "total": 0.0, "min": None, "max": None, "first": number})
        state["last"] = number
        if math.isfinite(number):
            state["count"] += 1
            state["total"] += number
            state["min"] = number if state["min"] is None else min(state["min"], number)
            state["max"] = number if state["max"] is None else max(state["max"], number)
        result = {}
        for word in self.aggregations:
            if word in ("min", "max") and state[word] is not None:
                result[word] = state[word]
            elif word == "mean" and state["count"]:
                result[word] = state["total"] / state["count"]
            elif word == "best":
                best = state["max"] if self.goal in ("maximize", "max") else state["min"]
                if best is not None:
                    result[word] = best
            elif word in ("last", "first"):
                result[word] = state[word]
        return result


class Run(object):
    """What `wandb.init()` returns (and `wandb.run` is)."""

    def __init__(self, config, name=None, project=None, entity=None, tags=None, group=None, job_type=None):
        trial = os.environ.get("SWEEPD_TRIAL_ID", "0")
        self.id = os.environ.get("WANDB_RUN_ID") or "trial-%s" % trial
        self.name = name or self.id
        self.project = project
        self.entity = entity
        self.tags = tuple(tags or ())
        self.group = group
        self.job_type = job_type
        self.sweep_id = os.environ.get("WANDB_SWEEP_ID")
        self.dir = os.environ.get("WANDB_DIR") or os.getcwd()
        self.config = config
        self.summary = Summary(self)
        self.step = 0
        self._pending = {}
        self._channel = _Channel()
        self._metrics = {}
        self._finished = False

    def log(self, data, step=None, commit=None, sync=None):
        if not isinstance(data, dict):
            raise TypeError("wandb.log takes a dict of values, not %s" % type(data).__name__)
        if step is not None:
            step = int(step)
            if step < self.step:
                # W&B drops values logged to an earlier step, with a warning.
                sys.stderr.write("wandb: step %d is before the current step %d: values ignored\n" % (step, self.step))
                return
            if step > self.step and self._pending:
                self._commit()
            self.step = step
        self._pending.update(_flatten(data))
        if commit is False or (commit is None and step is not None):
            return
        self._commit()

    def _commit(self):
        if self._pending:
            line = dict(self._pending)
            for key, value in self._pending.items():
                number = _number(value)
                if number is None:
                    continue
                metric = self._metric_for(key)
                if metric is None or metric.aggregations is None:
                    dict.__setitem__(self.summary, key, value)
                    continue
                aggregates = metric.update(key, number)
                if aggregates:
                    dict.__setitem__(self.summary, key, aggregates)
                for word, aggregate in aggregates.items():
                    line["%s.%s" % (key, word)] = aggregate
            self._channel.write(line, self.step)
        self._pending = {}
        self.step += 1

    def _metric_for(self, key):
        """The latest `define_metric` that names `key` (exactly, or by a `prefix*` glob)."""
        for metric in reversed(list(self._metrics.values())):
            if metric.matches(key):
                return metric
        return None

    def _report_summary(self, values):
        self._channel.write(_flatten(dict(values)), self.step)

    def define_metric(self, name, step_metric=None, step_sync=None, hidden=None, summary=None, goal=None,
                      overwrite=None, objective=None, **unused):
        metric = _Metric(name, summary=summary, goal=goal or objective, step_metric=step_metric, hidden=hidden)
        previous = self._metrics.get(name)
        if previous is not None and previous.aggregations and metric.aggregations is not None and not overwrite:
            # W&B adds to a metric's summaries (define_metric("loss", summary="min") then "max").
            metric.aggregations = previous.aggregations + [w for w in metric.aggregations if w not in previous.aggregations]
            metric.goal = metric.goal or previous.goal
        self._metrics.pop(name, None)
        self._metrics[name] = metric
        return metric

    def finish(self, exit_code=None, quiet=None):
        if self._pending:
            self._commit()
        self._finished = True
        if _state["run"] is self:
            _state["run"] = None

    def mark_preempting(self):
        """The trial will be requeued, not failed, if the program then exits non-zero."""
        directory = os.environ.get("SWEEPD_TRIAL_DIR") or os.getcwd()
        with open(os.path.join(directory, ".sweepd-preempting"), "w") as marker:
            marker.write("preempting\n")

    # What sweeps call but need not act on.
    def watch(self, *args, **kwargs):
        pass

    def unwatch(self, *args, **kwargs):
        pass

    def save(self, *args, **kwargs):
        return []

    def log_artifact(self, *args, **kwargs):
        return None

    def use_artifact(self, *args, **kwargs):
        raise _unsupported("run.use_artifact")

    def alert(self, *args, **kwargs):
        pass

    def log_code(self, *args, **kwargs):
        return None

    @property
    def url(self):
        return None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        self.finish(exit_code=0 if kind is None else 1)
        return False


def _sweep_parameters():
    path = os.environ.get("SWEEPD_PARAMS_FILE")
    if not path:
        return {}
    with open(path) as handle:
        return json.load(handle)


config = Config()
summary = None
run = None
_state = {"run": None}


def init(project=None, entity=None, config=None, name=None, tags=None, group=None, job_type=None, reinit=None,
         mode=None, dir=None, id=None, resume=None, notes=None, settings=None, anonymous=None, save_code=None,
         sync_tensorboard=None, allow_val_change=None, magic=None, force=None, **unused):
    """Starts the trial's run: `config` (a dict or argparse.Namespace) first, then the
    sweep's parameters over it, as W&B's agent does."""
    global run, summary
    if _state["run"] is not None and not reinit:
        return _state["run"]
    values = _as_mapping(config)
    values.update(_sweep_parameters())
    module_config = globals()["config"]
    object.__setattr__(module_config, "_items", values)
    current = Run(module_config, name=name, project=project, entity=entity, tags=tags, group=group,
                  job_type=job_type)
    _state["run"] = current
    run = current
    summary = current.summary
    return current


def _current():
    if _state["run"] is None:
        init()
    return _state["run"]


def log(data, step=None, commit=None, sync=None):
    _current().log(data, step=step, commit=commit)


def define_metric(name, *args, **kwargs):
    return _current().define_metric(name, *args, **kwargs)


def finish(exit_code=None, quiet=None):
    if _state["run"] is not None:
        _state["run"].finish(exit_code=exit_code)


def mark_preempting():
    _current().mark_preempting()


def watch(*args, **kwargs):
    pass


def unwatch(*args, **kwargs):
    pass


def save(*args, **kwargs):
    return []


def login(*args, **kwargs):
    return True


def alert(*args, **kwargs):
    pass


def log_artifact(*args, **kwargs):
    return None


def termlog(message="", *args, **kwargs):
    sys.stderr.write("wandb: %s\n" % message)


termwarn = termlog
termerror = termlog


class _Media(object):
    """Images, tables, histograms…: accepted and not reported (the channel takes numbers)."""

    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs

    def add_data(self, *args, **kwargs):
        pass

    def add_file(self, *args, **kwargs):
        pass

    def add_dir(self, *args, **kwargs):
        pass


class Image(_Media):
    pass


class Table(_Media):
    pass


class Histogram(_Media):
    pass


class Video(_Media):
    pass


class Audio(_Media):
    pass


class Html(_Media):
    pass


class Artifact(_Media):
    pass


class Settings(object):
    def __init__(self, *args, **kwargs):
        self.__dict__.update(kwargs)


class AlertLevel(object):
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def __getattr__(name):
    raise _unsupported(name)
