"""Adam, written out: the optimizer of the autoencoder's training without importing ``torch.optim``."""

from __future__ import annotations

import math

import torch

__all__ = ["Adam"]


class Adam:
    """Adam (Kingma & Ba, 2015) with torch.optim.Adam's defaults and update, written out.

    The first ``torch.optim`` optimizer of a process imports ``torch._dynamo`` (its
    ``add_param_group`` is wrapped by ``torch._disable_dynamo``): 1.4 s of a 2-core CPU, more
    than a third of training the fixture's map. This is the same update, no faster per step.

    Parameters
    ----------
    params : iterable of torch.Tensor
        The parameters to update (those without gradients are left alone).
    lr : float
        Step size; may be changed between steps (the cosine schedule sets it).
    betas : tuple of float
        Decay of the gradient's running mean and of its running square.
    eps : float
        Added to the root of the running square.
    """

    def __init__(self, params, *, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps = float(lr), betas, float(eps)
        self.mean = [torch.zeros_like(p) for p in self.params]
        self.square = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        mean_correction = 1.0 - beta1**self.steps
        root_square_correction = math.sqrt(1.0 - beta2**self.steps)
        for p, mean, square in zip(self.params, self.mean, self.square):
            if p.grad is None:
                continue
            mean.lerp_(p.grad, 1.0 - beta1)
            square.mul_(beta2).addcmul_(p.grad, p.grad, value=1.0 - beta2)
            p.addcdiv_(mean, (square.sqrt() / root_square_correction).add_(self.eps), value=-self.lr / mean_correction)
