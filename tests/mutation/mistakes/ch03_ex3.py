"""Typical wrong answers to chapter 03, Exercise 3 (delayed policy updates).

From the lesson: every round calls update_critics; when update_number (counted from
1) is a multiple of policy_delay, it then calls update_actor, then update_targets;
inside the compiled step update_number is a tensor, so the test is a comparison
that AutoGraph turns into a condition of the graph.
"""

from instructor.tools.mutation.catalogue import wrong


@wrong("no delay: the actor and the targets at every round", mistake="delay/no-delay")
def no_delay(update_number, policy_delay, update_critics, update_actor,
             update_targets):
    update_critics()
    update_actor()
    update_targets()


@wrong("delays the actor but updates the targets at every round",
       mistake="delay/targets-every-update")
def targets_every_round(update_number, policy_delay, update_critics, update_actor,
                        update_targets):
    update_critics()
    if update_number % policy_delay == 0:
        update_actor()
    update_targets()


@wrong("off by one: due at rounds 1, 1 + d, ...", mistake="delay/off-by-one")
def one_early(update_number, policy_delay, update_critics, update_actor,
              update_targets):
    update_critics()
    if (update_number - 1) % policy_delay == 0:
        update_actor()
        update_targets()


@wrong("off by one the other way: due at rounds d - 1, 2d - 1, ...",
       mistake="delay/off-by-one")
def one_late(update_number, policy_delay, update_critics, update_actor,
             update_targets):
    update_critics()
    if (update_number + 1) % policy_delay == 0:
        update_actor()
        update_targets()


@wrong("the condition inverted", mistake="delay/inverted")
def inverted(update_number, policy_delay, update_critics, update_actor,
             update_targets):
    update_critics()
    if update_number % policy_delay != 0:
        update_actor()
        update_targets()


@wrong("a delay of 2 written in, whatever policy_delay says",
       mistake="delay/hard-coded")
def hard_coded(update_number, policy_delay, update_critics, update_actor,
               update_targets):
    update_critics()
    if update_number % 2 == 0:
        update_actor()
        update_targets()


@wrong("the actor before the critics", mistake="delay/actor-before-critics")
def actor_first(update_number, policy_delay, update_critics, update_actor,
                update_targets):
    due = update_number % policy_delay == 0
    if due:
        update_actor()
    update_critics()
    if due:
        update_targets()


@wrong("the targets before the actor", mistake="delay/targets-before-actor")
def targets_first(update_number, policy_delay, update_critics, update_actor,
                  update_targets):
    update_critics()
    if update_number % policy_delay == 0:
        update_targets()
        update_actor()


@wrong("the critics delayed too", mistake="delay/critics-skipped")
def critics_delayed(update_number, policy_delay, update_critics, update_actor,
                    update_targets):
    if update_number % policy_delay == 0:
        update_critics()
        update_actor()
        update_targets()


@wrong("forgets the targets", mistake="delay/targets-never")
def no_targets(update_number, policy_delay, update_critics, update_actor,
               update_targets):
    update_critics()
    if update_number % policy_delay == 0:
        update_actor()


@wrong("forgets the actor", mistake="delay/actor-never")
def no_actor(update_number, policy_delay, update_critics, update_actor,
             update_targets):
    update_critics()
    if update_number % policy_delay == 0:
        update_targets()


@wrong("`if not remainder:` on a number tensor (right in plain Python)",
       mistake="delay/graph-only")
def not_remainder(update_number, policy_delay, update_critics, update_actor,
                  update_targets):
    update_critics()
    if not update_number % policy_delay:
        update_actor()
        update_targets()


@wrong("decided in Python: never due once update_number is a tensor",
       mistake="delay/graph-differs")
def python_decision(update_number, policy_delay, update_critics, update_actor,
                    update_targets):
    update_critics()
    remainder = update_number % policy_delay
    if isinstance(remainder, int) and remainder == 0:
        update_actor()
        update_targets()
