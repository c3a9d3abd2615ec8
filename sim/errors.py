"""The model's own error: a run that cannot be made as asked (e.g. replications on a Dask
cluster that is missing or runs other model code); str() is one line."""


class ModelError(ValueError):
    pass
