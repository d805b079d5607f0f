"""Simulation: pybullet quadruped worlds with damage and sim-to-real knobs, the shared observation
builder, the WANN cart-pole swing-up and gymnasium envs.

Importing this package needs numpy only (the ROS controller imports ``wann_ros.sim.observation`` on
robots without pybullet). If gymnasium is installed, the envs are registered under ``wann_ros/``:

* ``wann_ros/AntDamage-v0`` (kwargs: morphology, knobs, burn_in, max_steps, early_stop, damage_schedule)
* ``wann_ros/A1-v0`` (kwargs: morphology, knobs, max_steps, damage_schedule)
* ``wann_ros/CartPoleSwingUp-v0`` (kwargs: params)

BipedalWalker is gymnasium's own ``BipedalWalker-v3``.
"""

from __future__ import annotations

ENV_IDS = {
    "wann_ros/AntDamage-v0": "wann_ros.sim.envs:AntDamageEnv",
    "wann_ros/A1-v0": "wann_ros.sim.envs:A1Env",
    "wann_ros/CartPoleSwingUp-v0": "wann_ros.sim.envs:CartPoleSwingUpEnv",
}


def register_envs() -> bool:
    """Register the envs with gymnasium (idempotent); False if gymnasium is not installed."""
    try:
        import gymnasium
    except ImportError:
        return False
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point)
    return True


register_envs()
