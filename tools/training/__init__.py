"""Training of the learned style estimator (needs PyTorch; never imported at run time).

``python -m tools.training.train`` (``make train``) collects segments of a music
folder, simulates (target, reference, truth) triples in the analysis domain with its own
effect chain, trains a small MLP and exports it to ONNX with its model card.
"""
