"""A plugin without `version`: Kong 3.6.1 refuses to start."""


class Plugin:
    def access(self, kong):
        pass
