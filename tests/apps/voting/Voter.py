# ruff: noqa  (a RIAPS component module, written in the RIAPS idiom on purpose)
from riaps.run.comp import Component
from riaps.run.dc import Poll
import random
import time


class Voter(Component):
    """Counts readings, answers queries, and votes in the Council group; its leader calls a vote every tick."""

    def __init__(self, label):
        super().__init__()
        self.label = label
        self.group = None
        self.readings = []
        self.leaders = []
        self.results = []
        self.ballots = []

    def handleActivate(self):
        self.group = self.joinGroup("Council", "main")

    def on_reading(self):
        reading = self.reading.recv_pyobj()
        self.readings.append((time.time(), reading))

    def on_answer(self):
        question = self.answer.recv_pyobj()
        self.answer.send_pyobj((self.label, len(self.readings), time.time()))

    def on_tick(self):
        now = self.tick.recv_pyobj()
        if self.group is not None and self.group.isLeader():
            self.group.requestVote_pyobj(("raise the limit", now, random.random()), Poll.MAJORITY)

    def handleLeaderElected(self, group, leaderId):
        self.leaders.append((time.time(), leaderId.hex()))
        self.logger.info("%s: leader is %s" % (self.label, leaderId.hex()))

    def handleVoteRequest(self, group, rfvId):
        topic = group.recv_pyobj()
        ballot = random.random() < 0.7
        self.ballots.append((rfvId, ballot))
        group.sendVote(rfvId, ballot)

    def handleVoteResult(self, group, rfvId, vote):
        self.results.append((time.time(), rfvId, vote == "yes"))
