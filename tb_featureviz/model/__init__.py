"""Everything that touches a Keras model: layers, the forward pass, tensors, probes, capture.

These modules import Keras (never TensorFlow directly): which layers, in
model order and under which names (:mod:`.layers`); the one forward pass
(:mod:`.activations`); backend tensors to numpy (:mod:`.tensors`); probe
pictures (:mod:`.probes`); what a logged step takes from the model on the
training thread (:mod:`.capture`); who writes under distributed training
(:mod:`.distribution`).
"""
