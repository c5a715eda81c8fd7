"""Delivery of the month's review packs by e-mail, exactly once.

Three steps, each a plain function or class with no Dagster import (``messages``, ``mailers``, ``log``,
``send``):

1. ``plan_messages``: who receives what. Each manager gets one message with their manager pack and the
   rep packs of *their* team (roster ``manager_id`` == the manager), subject and body in the manager's
   locale with the team's headline figures; optionally each rep gets their own pack. The plan is checked
   (``check_recipients``) so no message can carry a pack of a rep outside the recipient's team.
2. A mailer sends one composed message: ``OutboxMailer`` writes ``.eml`` files (the embedded default, no
   mail server needed), ``SmtpMailer`` talks to a real server (STARTTLS, SSL or plain; the password is passed
   in, by the Dagster resource from the environment variable ``ATTAIN_SMTP_PASSWORD``). Mailers classify
   failures as temporary (4xx, connection refused, timeout: retried) or permanent (5xx, bad address: reported).
3. ``deliver`` sends the plan through a mailer and the ``DeliveryLog`` (a warehouse table written in
   transactions) so that a re-run never sends a delivered message again, a run killed half-way resumes
   where it stopped, and packs that changed after delivery are reported rather than silently re-sent.
   The reasoning is written up in docs/delivery.md.
"""
