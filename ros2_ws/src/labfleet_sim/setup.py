from setuptools import find_packages, setup

package_name = "labfleet_sim"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    # vda5050 (the VDA 5050 vehicle) ships with LabFleet itself (the top-level labfleet-fleet-manager distribution)
    install_requires=["setuptools", "numpy", "scipy", "shapely", "pydantic", "PyYAML", "paho-mqtt"],
    zip_safe=True,
    maintainer="LabFleet developers",
    maintainer_email="dev@labfleet.org",
    description="LabFleet's built-in headless multi-robot simulator",
    license="Apache-2.0",
    entry_points={"console_scripts": ["labfleet-sim = labfleet_sim.cli:main"]},
)
