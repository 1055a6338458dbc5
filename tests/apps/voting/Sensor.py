# ruff: noqa  (a RIAPS component module, written in the RIAPS idiom on purpose)
from riaps.run.comp import Component
import random
import time


class Sensor(Component):
    """Publishes a noisy reading every second and asks the voters how many readings they have seen."""

    def __init__(self, label, spread):
        super(Sensor, self).__init__()
        self.label = label
        self.spread = spread
        self.offset = random.uniform(-1.0, 1.0)  # drawn in the constructor, as RIAPS apps do
        self.sent = []
        self.answers = []
        self.logger.info("sensor %s created" % label)

    def on_clock(self):
        now = self.clock.recv_pyobj()
        value = self.offset + random.gauss(0.0, self.spread)
        reading = (self.label, time.time(), now, value, "x" * random.randint(0, 20))
        self.reading.send_pyobj(reading)
        self.sent.append(reading)
        if self.ask.connected() > 0:
            self.ask.send_pyobj(("count?", self.label, time.time()))

    def on_ask(self):
        answer = self.ask.recv_pyobj()
        self.answers.append(answer)
        self.logger.info("%s: a voter has seen %s readings" % (self.label, answer[1]))
