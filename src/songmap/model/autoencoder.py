"""The convolutional autoencoder with a two-neuron bottleneck.

The encoder is a stack of stride-2 convolutions (filter counts adjustable, as
in the notebooks) followed by a linear layer to exactly ``latent_dim=2``
neurons; the decoder mirrors it, with the same or (``decoder_filters``) fewer
channels. The two bottleneck values of a track are its coordinates on the map;
only the encoder places songs, the decoder is there to train it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from songmap.model.numpy_encoder import BATCH_NORM_EPS, LEAKY_SLOPE

__all__ = ["ConvAutoencoder"]


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for ``(1, n_mels, input_width)`` inputs.

    Parameters
    ----------
    n_mels : int
        Input height (mel bands).
    input_width : int
        Input width: time bins (pooled input) or modulation bins.
    filters : sequence of int
        Output channels of each stride-2 convolution of the encoder.
    latent_dim : int
        Bottleneck size; 2 for a map.
    decoder_filters : sequence of int, optional
        Channels of the decoder: of the code the linear layer unfolds the
        bottleneck into, then of each stride-2 transposed convolution's output
        (``len(filters) + 1`` counts). Default: the encoder's mirrored,
        ``filters[::-1] + [filters[0]]`` (``(64, 32, 16, 16)``), as models
        saved before this option were made. The encoder is the same either way.
    """

    def __init__(self, n_mels: int = 128, input_width: int = 64, filters: Sequence[int] = (16, 32, 64), latent_dim: int = 2,
                 decoder_filters: Sequence[int] | None = None):
        super().__init__()
        filters = [int(f) for f in filters]
        if not filters or any(f < 1 for f in filters):
            raise ValueError("filters must be one or more positive channel counts")
        if latent_dim < 1:
            raise ValueError("latent_dim must be positive")
        decoder = filters[::-1] + [filters[0]] if decoder_filters is None else [int(f) for f in decoder_filters]
        if len(decoder) != len(filters) + 1 or any(f < 1 for f in decoder):
            raise ValueError(f"decoder_filters must be {len(filters) + 1} positive channel counts (one more than filters), "
                             f"got {list(decoder_filters)!r}")
        self.n_mels, self.input_width, self.filters, self.latent_dim = n_mels, input_width, filters, latent_dim
        self.decoder_filters = decoder

        layers: list[nn.Module] = []
        channels = 1
        height, width = n_mels, input_width
        for f in filters:
            layers += [nn.Conv2d(channels, f, kernel_size=3, stride=2, padding=1), nn.BatchNorm2d(f, eps=BATCH_NORM_EPS), nn.LeakyReLU(LEAKY_SLOPE)]
            channels = f
            height, width = math.ceil(height / 2), math.ceil(width / 2)
        self.encoder_conv = nn.Sequential(*layers)
        self.to_latent = nn.Linear(channels * height * width, latent_dim)
        self._code_shape = (decoder[0], height, width)
        self.from_latent = nn.Linear(latent_dim, decoder[0] * height * width)

        layers = []
        for f_in, f_out in zip(decoder[:-1], decoder[1:]):
            layers += [
                nn.ConvTranspose2d(f_in, f_out, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm2d(f_out, eps=BATCH_NORM_EPS),
                nn.LeakyReLU(LEAKY_SLOPE),
            ]
        layers.append(nn.Conv2d(decoder[-1], 1, kernel_size=3, padding=1))
        self.decoder_conv = nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, n_mels, input_width)`` -> ``(batch, latent_dim)``."""
        return self.to_latent(self.encoder_conv(x).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(batch, latent_dim)`` -> ``(batch, 1, n_mels, input_width)``."""
        h = self.from_latent(z).view(-1, *self._code_shape)
        out = self.decoder_conv(h)
        if out.shape[-2:] != (self.n_mels, self.input_width):
            # Sizes that are not powers of two round up on the way down; cut back to the input's size.
            out = out[..., : self.n_mels, : self.input_width]
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def config(self) -> dict:
        """Constructor arguments, for saving."""
        return {"n_mels": self.n_mels, "input_width": self.input_width, "filters": list(self.filters), "latent_dim": self.latent_dim,
                "decoder_filters": list(self.decoder_filters)}

    def arrays(self) -> dict[str, np.ndarray]:
        """The ``state_dict`` as NumPy arrays (copies): what is saved, and what the NumPy encoder reads."""
        return {name: value.detach().numpy().copy() for name, value in self.state_dict().items()}

    @classmethod
    def from_arrays(cls, config: Mapping, weights: Mapping[str, np.ndarray]) -> ConvAutoencoder:
        """The model of :meth:`config` with the weights of :meth:`arrays`, in evaluation mode."""
        model = cls(**config)
        model.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in weights.items()})
        return model.eval()
