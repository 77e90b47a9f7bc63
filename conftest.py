pytest_plugins = ["fitness_devstack.pytest_plugin"]
