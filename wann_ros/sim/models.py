"""Robot model files, with damaged morphologies generated at run time from the stock pybullet_data models.

Nothing is copied into the repository: the stock MJCF / URDF is read from ``pybullet_data``, edited
in memory (a lower leg shortened to a fraction of its length) and written to a cache directory
(``$WANN_ROS_MODEL_CACHE`` or ``<tmp>/wann_ros_models``) under a name made from its content hash, so
parallel workers share files safely.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from wann_ros.sim.damage import LEGS, DamageError

ANT_FOOT_BODY = {
    # Which MJCF body is the lower leg at each corner, with +x forward, +y left and z up. The stock
    # ant.xml names bodies by a different convention: its "right_back_foot" sits at (+x, -y), i.e. front
    # right. The Hebbian paper's ant_asym_right.xml (enajx/HebbianMetaLearning) shortens exactly that body.
    "front_left": "front_left_foot",  # (+x, +y)
    "front_right": "right_back_foot",  # (+x, -y)
    "back_left": "front_right_foot",  # (-x, +y)
    "back_right": "left_back_foot",  # (-x, -y)
}
A1_LEG_PREFIX = {"front_left": "FL", "front_right": "FR", "back_left": "RL", "back_right": "RR"}


def pybullet_data_path() -> Path:
    import pybullet_data

    return Path(pybullet_data.getDataPath())


def cache_dir() -> Path:
    path = Path(os.environ.get("WANN_ROS_MODEL_CACHE") or Path(tempfile.gettempdir()) / "wann_ros_models")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_cached(text: str, stem: str, suffix: str) -> Path:
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    path = cache_dir() / f"{stem}-{digest}{suffix}"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return path


def _fmt(values) -> str:
    return " ".join(repr(round(float(v), 12)) for v in values)


def _check_legs(shortened: tuple[tuple[str, float], ...]) -> None:
    for leg, frac in shortened:
        if leg not in LEGS:
            raise DamageError(f"unknown leg {leg!r}; legs are {LEGS}")
        if not 0.0 < frac <= 1.0:
            raise DamageError(f"leg {leg!r}: length fraction must be in (0, 1], got {frac}")


def ant_model(shortened: tuple[tuple[str, float], ...] = ()) -> Path:
    """Path of pybullet_data's ``mjcf/ant.xml``, or of a copy whose listed lower legs are shortened.

    Shortening scales the end point of the lower-leg capsule's ``fromto`` (its start stays at the ankle),
    as the Hebbian paper's damaged models do (0.4 -> 0.1 for a quarter).
    """
    _check_legs(shortened)
    stock = pybullet_data_path() / "mjcf" / "ant.xml"
    if not shortened:
        return stock
    tree = ET.parse(stock)
    for leg, frac in shortened:
        body = tree.getroot().find(f".//body[@name='{ANT_FOOT_BODY[leg]}']")
        geom = None if body is None else body.find("geom")
        if geom is None:
            raise DamageError(f"ant.xml has no lower-leg geom for {leg!r}")
        start_end = [float(v) for v in geom.get("fromto").split()]
        start, end = start_end[:3], start_end[3:]
        geom.set("fromto", _fmt(start + [s + frac * (e - s) for s, e in zip(start, end, strict=True)]))
    return _write_cached(ET.tostring(tree.getroot(), encoding="unicode"), "ant", ".xml")


def a1_model(shortened: tuple[tuple[str, float], ...] = ()) -> Path:
    """Path of pybullet_data's ``a1/a1.urdf``, or of a copy whose listed calves (and toe) are shortened.

    A shortened calf keeps its hinge at the knee: its collision box, visual mesh, centre of mass and the
    toe's attachment point scale by the fraction. Its mass and URDF inertia (the world loads them with
    URDF_USE_INERTIA_FROM_FILE) stay: they stand in for the motor's reflected rotor inertia, which pybullet
    does not model and without which the 500 Hz PD loop of a short, light calf is numerically unstable.
    """
    _check_legs(shortened)
    stock = pybullet_data_path() / "a1" / "a1.urdf"
    if not shortened:
        return stock
    tree = ET.parse(stock)
    root = tree.getroot()
    for mesh in root.iter("mesh"):  # the copy lives elsewhere: make mesh paths absolute
        mesh.set("filename", str(stock.parent / mesh.get("filename")))
    for leg, frac in shortened:
        prefix = A1_LEG_PREFIX[leg]
        link = root.find(f"link[@name='{prefix}_lower']")
        toe = root.find(f"joint[@name='{prefix}_toe_fixed']/origin")
        if link is None or toe is None:
            raise DamageError(f"a1.urdf has no calf for {leg!r}")
        box = link.find("collision/geometry/box")
        size = [float(v) for v in box.get("size").split()]
        box.set("size", _fmt([size[0] * frac, *size[1:]]))
        for origin in (link.find("collision/origin"), link.find("inertial/origin"), toe):
            xyz = [float(v) for v in origin.get("xyz").split()]
            origin.set("xyz", _fmt([*xyz[:2], xyz[2] * frac]))
        link.find("visual/geometry/mesh").set("scale", _fmt([1.0, 1.0, frac]))
    return _write_cached(ET.tostring(root, encoding="unicode"), "a1", ".urdf")
