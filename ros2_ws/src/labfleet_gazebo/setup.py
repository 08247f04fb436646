from pathlib import Path

from setuptools import find_packages, setup

package_name = "labfleet_gazebo"
HERE = Path(__file__).resolve().parent


def model_files() -> list[tuple[str, list[str]]]:
    """share/labfleet_gazebo/models/<model>/{model.sdf,model.config}, one entry per model folder."""
    return [(f"share/{package_name}/models/{d.name}", [str(f.relative_to(HERE)) for f in sorted(d.iterdir())])
            for d in sorted((HERE / "models").iterdir()) if d.is_dir()]


setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={package_name: ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", ["launch/labfleet_gazebo.launch.py"]),
        *model_files(),
    ],
    install_requires=["setuptools", "PyYAML"],
    zip_safe=True,
    maintainer="LabFleet developers",
    maintainer_email="dev@labfleet.org",
    description="LabFleet's Gazebo Harmonic backend: robot models, ros_gz_bridge config, launch",
    license="Apache-2.0",
    entry_points={"console_scripts": [
        "labfleet-gz-bridge-config = labfleet_gazebo.bridge_config:main",
        "labfleet-gz-models = labfleet_gazebo.robot_sdf:main",
    ]},
)
