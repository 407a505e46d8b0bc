"""Hooks into training frameworks. `lossdb.integrations.transformers.LossdbCallback` scores a
dataset with the model being trained after every epoch (or every N steps) and stores each
scoring as one run of a group, for the training-dynamics queries (lossdb.queries.dynamics)."""
