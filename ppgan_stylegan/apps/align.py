"""FFHQ-style face alignment from 68 facial landmarks (iBUG 300-W order).

The crop is the oriented square of the FFHQ recipe (Karras et al. 2019, appendix A): centred a tenth of
the way from the eyes' midpoint to the mouth's, axes along the eye line, half-side
``max(2 |eye_to_eye|, 1.8 |eye_to_mouth|)``. Landmarks come from dlib (``--landmarks-model``, the
68-point shape predictor, when dlib is installed) or from a JSON file ``{image name: [[x, y] x 68]}``.
"""
import json
import os

import numpy as np
from PIL import Image

from ..core.errors import UserError


def face_quad(landmarks):
    """Corners ``[4, 2]`` (top-left, bottom-left, bottom-right, top-right) of the aligned square."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise UserError(f"landmarks: expected 68 (x, y) points, got shape {list(lm.shape)}")
    eye_left, eye_right = lm[36:42].mean(0), lm[42:48].mean(0)
    eye_mid, mouth_mid = (eye_left + eye_right) / 2, (lm[48] + lm[54]) / 2
    eye_to_eye, eye_to_mouth = eye_right - eye_left, mouth_mid - eye_mid
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])  # eye line, tilted by the mouth's normal
    x = x / np.hypot(*x) * max(2.0 * np.hypot(*eye_to_eye), 1.8 * np.hypot(*eye_to_mouth))
    y = np.array([-x[1], x[0]])
    centre = eye_mid + 0.1 * eye_to_mouth
    return np.stack([centre - x - y, centre - x + y, centre + x + y, centre + x - y])


def align_face(rgb, landmarks, size):
    """RGB uint8 ``[H, W, 3]`` -> the aligned ``[size, size, 3]`` crop (outside the image: black)."""
    quad = face_quad(landmarks)
    img = Image.fromarray(rgb).transform((size, size), Image.QUAD, tuple((quad + 0.5).flatten()), Image.BILINEAR)
    return np.asarray(img)


class LandmarkSource:
    """68 landmarks per image, from a JSON file or from dlib's detector + shape predictor."""

    def __init__(self, landmarks_file=None, landmarks_model=None):
        self.table = self.detector = None
        if landmarks_file:
            try:
                with open(landmarks_file) as f:
                    self.table = json.load(f)
            except FileNotFoundError:
                raise UserError(f"--landmarks {landmarks_file}: no such file")
            except ValueError as e:
                raise UserError(f"--landmarks {landmarks_file}: not JSON ({e})")
        elif landmarks_model:
            try:
                import dlib
            except ImportError:
                raise UserError("alignment with --landmarks-model needs dlib (pip install dlib); or pass "
                                "--landmarks FILE.json, or --no-align for images that are already aligned")
            if not os.path.isfile(landmarks_model):
                raise UserError(f"--landmarks-model {landmarks_model}: no such file "
                                "(dlib's shape_predictor_68_face_landmarks.dat)")
            self.detector, self.predictor = dlib.get_frontal_face_detector(), dlib.shape_predictor(landmarks_model)
        else:
            raise UserError("alignment needs landmarks: --landmarks FILE.json or --landmarks-model "
                            "shape_predictor_68_face_landmarks.dat (dlib); or --no-align for aligned images")

    def __call__(self, path, rgb):
        if self.table is not None:
            key = os.path.basename(path)
            if key not in self.table:
                raise UserError(f"--landmarks: no entry for {key!r}")
            return self.table[key]
        faces = self.detector(rgb, 1)
        if not faces:
            raise UserError(f"{path}: no face found (dlib); crop it by hand and use --no-align")
        shape = self.predictor(rgb, max(faces, key=lambda r: r.area()))
        return [[p.x, p.y] for p in shape.parts()]
