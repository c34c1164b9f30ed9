"""Training data: transforms, static-image and video datasets, sampling, loaders."""
