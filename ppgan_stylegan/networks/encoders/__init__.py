from .psp import (ENCODER_TYPES, GradualStyleEncoder, PSPEncoder, PSPEncoderIntoW, PSPEncoderIntoWPlus,
                  encoder_class, official_type, require_square_rgb)

__all__ = ["ENCODER_TYPES", "GradualStyleEncoder", "PSPEncoder", "PSPEncoderIntoW", "PSPEncoderIntoWPlus",
           "encoder_class", "official_type", "require_square_rgb"]
