"""Procedural face rendering for the synthetic data set.

A face is drawn with OpenCV from an identity (``FaceIdentity``: skin tone, proportions,
colours, background) and a per-frame expression state (``FaceState``: mouth opening, jaw,
brows, squint, lip corners, blink, head pose, lighting). Geometry lives in face units:
``u`` across the face (``-1`` left cheek, ``+1`` right cheek, in multiples of the face
half-width ``a``) and ``v`` down the face (``-1`` hairline, ``+1`` chin, in multiples of the
half-height ``b``). Motions are expressed in multiples of ``a`` so they scale with the image.

The drawing is meant to look enough like a face for dlib's HOG detector and OpenCV's Haar
cascade (the detectors of ``meldae.faces``) to find it in (nearly) every frame: dark brows
and eyes over bright cheeks, a shaded nose, a dark mouth line and a shaded face contour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4                      # fractional bits for sub-pixel drawing
_SCALE = 1 << _SHIFT


@dataclass(frozen=True)
class FaceIdentity:
    """What stays fixed for one synthetic subject (colours are RGB, 0-255)."""

    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    iris: tuple[float, float, float]
    lip: tuple[float, float, float]
    cloth: tuple[float, float, float]
    bg_top: tuple[float, float, float]
    bg_bottom: tuple[float, float, float]
    face_half_width: float      # a, as a fraction of the image size
    aspect: float               # b / a
    eye_dx: float               # eye centre |u|
    eye_half_width: float       # in u
    eye_height: float           # eye opening, in multiples of a
    brow_thickness: float       # in multiples of a
    brow_arch: float            # in multiples of a
    nose_length: float          # v of the nose base
    mouth_half_width: float     # in u
    lip_thickness: float        # in multiples of a
    hair_style: int             # 0 short cap, 1 fringe, 2 long at the sides
    light_angle: float          # radians, direction the light comes from


def random_identity(rng: np.random.Generator) -> FaceIdentity:
    """Draw a random face identity (deterministic for a given generator state)."""
    # Skin tones from light to dark along a plausible ramp, with a little hue noise.
    t = rng.uniform(0.0, 1.0)
    light, dark = np.array([236.0, 200.0, 175.0]), np.array([120.0, 80.0, 58.0])
    skin = (1 - t) * light + t * dark + rng.normal(0, 6, 3)
    hair_dark = rng.uniform(15, 70)
    hair = np.array([hair_dark * 1.3, hair_dark, hair_dark * 0.8])
    if rng.uniform() < 0.25:          # some light (blond/brown) hair
        hair = np.array([150.0, 115.0, 70.0]) * rng.uniform(0.6, 1.1)
    iris = np.array(
        [(90, 60, 35), (60, 40, 25), (70, 110, 150), (80, 110, 70)][rng.integers(0, 4)], float
    )
    lip = skin * np.array([0.85, 0.55, 0.55]) + np.array([25, 0, 5])
    bg_top = rng.uniform(40, 220, 3)
    bg_bottom = np.clip(bg_top * rng.uniform(0.5, 1.1) + rng.normal(0, 20, 3), 0, 255)
    return FaceIdentity(
        skin=_rgb(skin), hair=_rgb(hair), iris=_rgb(iris), lip=_rgb(lip),
        cloth=_rgb(rng.uniform(20, 230, 3)), bg_top=_rgb(bg_top), bg_bottom=_rgb(bg_bottom),
        face_half_width=float(rng.uniform(0.235, 0.27)),
        aspect=float(rng.uniform(1.28, 1.42)),
        eye_dx=float(rng.uniform(0.39, 0.45)),
        eye_half_width=float(rng.uniform(0.18, 0.22)),
        eye_height=float(rng.uniform(0.085, 0.11)),
        brow_thickness=float(rng.uniform(0.05, 0.075)),
        brow_arch=float(rng.uniform(0.03, 0.07)),
        nose_length=float(rng.uniform(0.26, 0.36)),
        mouth_half_width=float(rng.uniform(0.32, 0.40)),
        lip_thickness=float(rng.uniform(0.06, 0.09)),
        hair_style=int(rng.integers(0, 3)),
        light_angle=float(rng.uniform(-0.8, 0.8)),
    )


def _rgba(img: np.ndarray, color) -> tuple:
    """``color`` for ``img``: RGB colours get coverage 1 on 4-channel (RGB + coverage) images."""
    if np.ndim(color) == 0:
        return (float(color),)
    color = tuple(float(c) for c in color)
    if img.ndim == 3 and img.shape[2] == 4 and len(color) == 3:
        return color + (1.0,)
    return color


def _rgb(values) -> tuple[float, float, float]:
    clipped = np.clip(np.asarray(values, float), 0, 255)
    return (float(clipped[0]), float(clipped[1]), float(clipped[2]))


@dataclass(frozen=True)
class FaceState:
    """The expression and pose of one frame; motions in multiples of the half-width ``a``."""

    mouth_open: float = 0.0     # gap between the lips
    jaw: float = 0.0            # chin drop
    mouth_width: float = 0.0    # relative change of the mouth width (visemes)
    brow_raise_l: float = 0.0   # AU1+2, upwards
    brow_raise_r: float = 0.0
    brow_lower_l: float = 0.0   # AU4, inner brow down and inwards
    brow_lower_r: float = 0.0
    squint_l: float = 0.0       # AU6/7, lower lid up, outer corner narrows
    squint_r: float = 0.0
    lip_pull_l: float = 0.0     # AU12, corner outwards and upwards
    lip_pull_r: float = 0.0
    blink: float = 0.0          # 0 open, 1 closed
    gaze_x: float = 0.0         # iris offset, fraction of the eye half-width
    gaze_y: float = 0.0
    head_dx: float = 0.0        # pixels
    head_dy: float = 0.0
    head_rot: float = 0.0       # degrees
    head_scale: float = 1.0
    light: float = 1.0          # global gain


class FaceRenderer:
    """Draws frames of one identity at one image size; reuses the static layers."""

    def __init__(self, identity: FaceIdentity, size: int) -> None:
        self.identity = identity
        self.size = int(size)
        self.a = identity.face_half_width * size
        self.b = self.a * identity.aspect
        self.cx = size * 0.5
        self.cy = size * 0.47
        self._background = self._make_background()
        self._shade = self._make_shading()

    # -- coordinates -----------------------------------------------------------------

    def _pt(self, u, v, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
        """Face units -> fixed-point pixel coordinates (N, 2) int32 for cv2 drawing."""
        pts = np.empty((len(u), 2), np.float64)
        pts[:, 0] = self.cx - origin[0] + np.asarray(u, float) * self.a
        pts[:, 1] = self.cy - origin[1] + np.asarray(v, float) * self.b
        return np.round(pts * _SCALE).astype(np.int32)

    def _fill(self, img, u, v, color, origin: tuple[int, int] = (0, 0)) -> None:
        cv2.fillPoly(img, [self._pt(u, v, origin)], _rgba(img, color), cv2.LINE_AA, _SHIFT)

    def _line(self, img, u, v, color, thickness: float) -> None:
        cv2.polylines(img, [self._pt(u, v)], False, _rgba(img, color),
                      max(1, int(round(thickness))), cv2.LINE_AA, _SHIFT)

    # -- static layers ---------------------------------------------------------------

    def _make_background(self) -> np.ndarray:
        s, ident = self.size, self.identity
        ramp = np.linspace(0.0, 1.0, s, dtype=np.float32)[:, None, None]
        top = np.array(ident.bg_top, np.float32)
        bottom = np.array(ident.bg_bottom, np.float32)
        bg = np.broadcast_to((1 - ramp) * top + ramp * bottom, (s, s, 3)).copy()
        # Torso: shoulders under the face.
        cloth = tuple(float(c) for c in ident.cloth)
        cv2.ellipse(bg, (int(self.cx), int(s * 1.08)), (int(self.a * 2.3), int(self.a * 1.2)),
                    0, 0, 360, cloth, -1, cv2.LINE_AA)
        neck = tuple(float(c) * 0.78 for c in ident.skin)
        x0, x1 = int(self.cx - self.a * 0.48), int(self.cx + self.a * 0.48)
        cv2.rectangle(bg, (x0, int(self.cy + self.b * 0.5)), (x1, int(s * 0.98)), neck, -1)
        return bg

    def _make_shading(self) -> np.ndarray:
        """Multiplicative shading in face coordinates: rounded face, side light."""
        s = self.size
        ys, xs = np.mgrid[0:s, 0:s].astype(np.float32)
        u = (xs - self.cx) / self.a
        v = (ys - self.cy) / self.b
        r2 = np.clip(u * u + 0.6 * v * v, 0, 1.6)
        ang = self.identity.light_angle
        directional = 1.0 + 0.12 * (math.sin(ang) * u - 0.3 * v)
        shade = (1.05 - 0.28 * r2 ** 1.5) * directional
        shade = np.clip(shade, 0.45, 1.2).astype(np.float32)
        return np.dstack([shade, shade, shade, np.ones_like(shade)])   # alpha unshaded

    # -- drawing ---------------------------------------------------------------------

    def render(self, state: FaceState, noise: np.ndarray | None = None) -> np.ndarray:
        """One (size, size, 3) uint8 RGB frame; ``noise`` (float32, same shape) is added."""
        s = self.size
        layer = np.zeros((s, s, 4), np.float32)          # RGB + coverage
        self._draw_head(layer, state)
        self._draw_eyes(layer, state)
        self._draw_brows(layer, state)
        self._draw_nose(layer, state)
        self._draw_mouth(layer, state)
        layer *= self._shade
        layer = cv2.GaussianBlur(layer, (0, 0), 0.7)
        matrix = cv2.getRotationMatrix2D((self.cx, self.cy), state.head_rot, state.head_scale)
        matrix[:, 2] += (state.head_dx, state.head_dy)
        layer = cv2.warpAffine(layer, matrix, (s, s), flags=cv2.INTER_LINEAR)
        # frame = background * (1 - coverage) + colour * coverage, times the light
        frame = layer[..., :3] - self._background
        frame *= layer[..., 3:]
        frame += self._background
        frame *= state.light
        if noise is not None:
            frame += noise
        return np.clip(frame, 0, 255).astype(np.uint8)

    def _draw_head(self, layer, st: FaceState) -> None:
        ident = self.identity
        skin = ident.skin
        theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        u, v = np.cos(theta), np.sin(theta)
        # Narrower jaw: squeeze the lower half towards the chin, drop it with the jaw.
        lower = v > 0
        u = np.where(lower, u * (1 - 0.18 * v ** 2), u)
        v = np.where(lower, v + st.jaw * (self.a / self.b) * v ** 2, v)
        for side in (-1, 1):  # ears
            self._fill(layer, side * np.array([0.97, 1.1, 1.12, 1.02, 0.95]),
                       np.array([-0.25, -0.22, 0.05, 0.2, 0.18]), tuple(c * 0.92 for c in skin))
        self._fill(layer, u, v, skin)
        self._draw_hair(layer)

    def _draw_hair(self, layer) -> None:
        style = self.identity.hair_style
        radius, alpha = (1.15, -0.3) if style == 2 else (1.06, 0.32)
        theta = np.linspace(np.pi + alpha, 2 * np.pi - alpha, 40)
        outer_u, outer_v = radius * np.cos(theta), -0.02 + 1.04 * np.sin(theta)
        line_u = np.linspace(0.9, -0.9, 25)
        depth = 0.32 if style == 0 else 0.18        # 1 = fringe: low, flat hairline
        line_v = -0.4 - depth * (1 - (line_u / 0.9) ** 2) ** 0.7
        if style == 2:                              # long hair falls down the sides
            line_u = np.concatenate([[0.97], line_u, [-0.97]])
            line_v = np.concatenate([[0.3], line_v, [0.3]])
        u = np.concatenate([outer_u, line_u])
        v = np.concatenate([outer_v, line_v])
        self._fill(layer, u, v, self.identity.hair)

    def _draw_eyes(self, layer, st: FaceState) -> None:
        ident = self.identity
        a_to_v = self.a / self.b
        ve = -0.2
        w = ident.eye_half_width
        h_up = 0.6 * ident.eye_height * a_to_v
        h_lo = 0.4 * ident.eye_height * a_to_v
        skin = np.array(ident.skin)
        for side, squint in ((-1, st.squint_l), (1, st.squint_r)):
            ue = side * ident.eye_dx
            t = np.linspace(-1, 1, 25)
            u = ue + t * w
            lo_h = max(h_lo - squint * a_to_v, 0.0)
            lower = ve + lo_h * (1 - t * t) + 0.01 * t * side
            upper_open = ve - h_up * (1 - t * t) ** 0.8
            upper = upper_open * (1 - st.blink) + lower * st.blink
            # Socket shadow on the skin, then the eyeball seen through the lids' opening.
            self._fill(layer, ue + 1.35 * w * np.cos(t * np.pi), ve - 0.01 +
                       2.1 * h_up * np.sin(t * np.pi), tuple(skin * 0.9))
            self._draw_eyeball(layer, ue, ve, u, upper, lower, st)
            lash = tuple(np.array(ident.hair) * 0.4 + 5)
            self._line(layer, u, upper, lash, 0.04 * self.a)
            self._line(layer, u[3:-3], lower[3:-3] + 0.01, tuple(skin * 0.7), 0.015 * self.a)
            crease = upper_open - 0.45 * h_up * (1 - t * t)
            self._line(layer, u[4:-4], crease[4:-4], tuple(skin * 0.72), 0.02 * self.a)
            # Cheek line under the eye rises with the squint (AU6).
            cheek = np.full_like(t, ve + 2.0 * h_lo - 1.2 * squint * a_to_v)
            self._line(layer, u[6:-4] + 0.03 * side, cheek[6:-4] + 0.25 * h_lo * t[6:-4] ** 2,
                       tuple(skin * 0.86), 0.015 * self.a)

    def _draw_eyeball(self, layer, ue: float, ve: float, u: np.ndarray, upper: np.ndarray,
                      lower: np.ndarray, st: FaceState) -> None:
        """Sclera, iris, pupil and glint, seen through the opening between the lids."""
        ident = self.identity
        a_to_v = self.a / self.b
        w = ident.eye_half_width
        h_up = 0.6 * ident.eye_height * a_to_v
        h_lo = 0.4 * ident.eye_height * a_to_v
        # Work in a box around the eye only (cheap): origin = its top-left pixel.
        x0 = max(int(self.cx + (ue - 1.5 * w) * self.a), 0)
        y0 = max(int(self.cy + (ve - 3 * h_up) * self.b), 0)
        x1 = min(int(self.cx + (ue + 1.5 * w) * self.a) + 2, self.size)
        y1 = min(int(self.cy + (ve + 3 * h_lo) * self.b) + 2, self.size)
        org = (x0, y0)
        roi = layer[y0:y1, x0:x1]
        eyeball = np.empty_like(roi)
        eyeball[:] = (232, 228, 222, 1.0)
        iu = ue + st.gaze_x * w * 0.35
        iv = ve + st.gaze_y * h_up * 0.3 - 0.1 * h_up
        ring = np.linspace(0, 2 * np.pi, 28, endpoint=False)
        for radius, color in ((0.48, ident.iris), (0.2, (12, 10, 10))):
            self._fill(eyeball, iu + radius * w * np.cos(ring),
                       iv + radius * w * a_to_v * np.sin(ring), color, org)
        self._fill(eyeball, iu + 0.12 * w + 0.06 * w * np.cos(ring),
                   iv - 0.1 * h_up + 0.06 * w * a_to_v * np.sin(ring), (245, 245, 245), org)
        opening = np.zeros(roi.shape[:2], np.float32)
        if np.any(lower - upper > 1e-4):
            self._fill(opening, np.concatenate([u, u[::-1]]),
                       np.concatenate([upper, lower[::-1]]), 1.0, org)
        opening = opening[..., None]
        roi *= 1 - opening
        roi += eyeball * opening

    def _draw_brows(self, layer, st: FaceState) -> None:
        ident = self.identity
        a_to_v = self.a / self.b
        vb = -0.2 - 0.32 * a_to_v
        t = np.linspace(-1, 1, 21)       # -1 inner end, +1 outer end
        inner_w = (1 - t) / 2            # 1 at the inner end
        for side, raise_, lower in ((-1, st.brow_raise_l, st.brow_lower_l),
                                    (1, st.brow_raise_r, st.brow_lower_r)):
            ue = side * (ident.eye_dx + 0.02)
            u = ue + side * t * 0.27 - side * lower * inner_w * 0.5
            arch = -ident.brow_arch * a_to_v * (1 - (t - 0.25) ** 2 / 1.6)
            dv = (-raise_ * (0.8 + 0.3 * inner_w) + lower * (0.25 + 0.9 * inner_w)) * a_to_v
            centre = vb + arch + dv
            thick = ident.brow_thickness * a_to_v * (1.0 - 0.45 * np.clip(t, 0, 1))
            upper, lower_edge = centre - thick / 2, centre + thick / 2
            self._fill(layer, np.concatenate([u, u[::-1]]),
                       np.concatenate([upper, lower_edge[::-1]]),
                       tuple(np.array(ident.hair) * 0.85))

    def _draw_nose(self, layer, st: FaceState) -> None:
        ident = self.identity
        skin = np.array(ident.skin)
        nb = ident.nose_length
        v = np.linspace(-0.12, nb - 0.07, 12)
        for side in (-1, 1):
            u = side * (0.1 + 0.07 * (v + 0.12) / (nb + 0.05))
            self._line(layer, u, v, tuple(skin * 0.86), 0.04 * self.a)
            ring = np.linspace(-0.3 * np.pi, 1.1 * np.pi, 16)
            self._line(layer, side * (0.16 + 0.06 * np.cos(ring)),
                       nb - 0.03 + 0.05 * np.sin(ring) * side, tuple(skin * 0.75), 0.03 * self.a)
            ring = np.linspace(0, 2 * np.pi, 16, endpoint=False)
            self._fill(layer, side * 0.085 + 0.045 * np.cos(ring), nb + 0.012 * np.sin(ring),
                       tuple(skin * 0.35))
        ring = np.linspace(0, 2 * np.pi, 20, endpoint=False)
        self._fill(layer, 0.08 * np.cos(ring), nb - 0.06 + 0.04 * np.sin(ring),
                   tuple(np.minimum(skin * 1.08, 255)))
        self._fill(layer, 0.1 * np.cos(ring), nb + 0.06 + 0.025 * np.sin(ring), tuple(skin * 0.9))

    def _draw_mouth(self, layer, st: FaceState) -> None:
        ident = self.identity
        skin = np.array(ident.skin)
        a_to_v = self.a / self.b
        vm = ident.nose_length + (1 - ident.nose_length) * 0.36
        mw = ident.mouth_half_width * (1 + st.mouth_width)
        ul = -mw - 0.8 * st.lip_pull_l
        ur = mw + 0.8 * st.lip_pull_r
        vl = vm - 0.6 * st.lip_pull_l * a_to_v
        vr = vm - 0.6 * st.lip_pull_r * a_to_v
        t = np.linspace(-1, 1, 31)
        s = (t + 1) / 2
        u = ul + (ur - ul) * s
        base = vl + (vr - vl) * s
        bump = 1 - t * t
        gap = st.mouth_open * a_to_v
        thick = ident.lip_thickness * a_to_v
        up_in = base - 0.25 * gap * bump
        lo_in = base + 0.75 * gap * bump
        up_out = base - 0.25 * gap * bump - thick * bump ** 0.5 * (1 - 0.18 * np.exp(-(t * 6) ** 2))
        lo_out = lo_in + 1.25 * thick * bump ** 0.6
        for side, pull in ((-1, st.lip_pull_l), (1, st.lip_pull_r)):
            corner_u = ul if side < 0 else ur
            corner_v = vl if side < 0 else vr
            fold_v = np.linspace(ident.nose_length - 0.02, corner_v + 0.05, 10)
            k = (fold_v - fold_v[0]) / (fold_v[-1] - fold_v[0])
            fold_u = side * 0.24 + (corner_u + side * 0.08 - side * 0.24) * k ** 1.4 \
                + side * 0.4 * pull * (1 - k) * k
            self._line(layer, fold_u, fold_v, tuple(skin * 0.9), 0.025 * self.a)
        ring = np.linspace(0, 2 * np.pi, 20, endpoint=False)
        self._fill(layer, 0.22 * np.cos(ring), lo_out[15] + 0.06 + 0.03 * np.sin(ring),
                   tuple(skin * 0.88))
        self._fill(layer, np.concatenate([u, u[::-1]]), np.concatenate([up_out, lo_out[::-1]]),
                   ident.lip)
        if gap > 1e-4:
            self._fill(layer, np.concatenate([u, u[::-1]]), np.concatenate([up_in, lo_in[::-1]]),
                       (55, 18, 22))
            teeth = up_in + np.minimum(0.35 * gap, 0.09 * a_to_v) * bump
            self._fill(layer, np.concatenate([u[4:-4], u[4:-4][::-1]]),
                       np.concatenate([up_in[4:-4], teeth[4:-4][::-1]]), (225, 220, 205))
        self._line(layer, u, up_in, tuple(np.array(ident.lip) * 0.45), 0.03 * self.a)
