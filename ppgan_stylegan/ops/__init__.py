"""Building blocks of StyleGAN networks; each op has a fast path and a reference path."""
from .bias_act import (BiasLeakyReLU, add_channel_bias, bias_leaky_relu, bias_leaky_relu_ref,
                       noise_bias_leaky_relu)
from .equalized import EqualConv2D, EqualLinear
from .misc import (NoiseInjection, PixelNorm, adaptive_instance_norm, instance_norm, mbstd_group, minibatch_stddev,
                   nearest_upsample, pixel_norm, style_mod_ref)
from .modulated_conv import demod_coefficients, modulated_conv2d, modulated_conv2d_ref, per_sample_weights
from .polyphase import conv_transpose2x, conv_transpose2x_polyphase, double_backward, polyphase_everywhere
from .precision import (as_float32, clamp, float16_allowed, float16_min_resolution, float16_scope, float32_scope, like,
                        mixed_precision)
from .upfirdn2d import (FIRFilter, downsample_pad, fir_matrix, make_kernel, upfirdn2d, upfirdn2d_ref,
                        upfirdn2d_separable, upsample_pad)
