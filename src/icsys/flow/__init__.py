"""Whole-system capacity and flow: scenario model, calibration from the dataset, simulation engine."""
