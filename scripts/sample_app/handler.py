"""The service's Lambda handler."""

from shop import jobs, orders


def lambda_handler(event, context):
    if event.get("job") == "depth":
        return jobs.category_depth(event["category"])
    if event.get("job") == "notify":
        return jobs.notify_all(event["users"])
    return orders.handle(event)
