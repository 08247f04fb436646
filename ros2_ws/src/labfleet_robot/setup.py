from setuptools import find_packages, setup

package_name = "labfleet_robot"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools", "numpy", "PyYAML"],
    zip_safe=True,
    maintainer="LabFleet developers",
    maintainer_email="dev@labfleet.org",
    description="LabFleet robot agent and Nav2 stand-in",
    license="Apache-2.0",
    entry_points={"console_scripts": ["labfleet-agent = labfleet_robot.agent_node:main",
                                      "labfleet-nav2 = labfleet_robot.nav2_node:main"]},
)
