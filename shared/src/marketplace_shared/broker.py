"""RabbitMQ plumbing: connection parameters, topology and a confirming publisher (pika)."""

import json

import pika

QUEUE_ARGS_DEAD = "x-dead-letter-routing-key"


def connection_parameters(url: str, heartbeat: int = 30) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 30
    params.connection_attempts = 1
    params.socket_timeout = 5
    return params


def connect(url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(connection_parameters(url))


def declare_exchange(channel, exchange: str) -> None:
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)


def declare_service_queue(channel, exchange: str, queue: str, patterns, retry_delay_ms: int) -> None:
    """A durable queue per consuming service, with a delayed retry queue and a dead-letter queue."""
    channel.queue_declare(queue=f"{queue}.dead", durable=True)
    channel.queue_declare(queue=f"{queue}.retry", durable=True, arguments={
        "x-dead-letter-exchange": "", QUEUE_ARGS_DEAD: queue, "x-message-ttl": retry_delay_ms})
    channel.queue_declare(queue=queue, durable=True, arguments={
        "x-dead-letter-exchange": "", QUEUE_ARGS_DEAD: f"{queue}.dead"})
    for pattern in patterns:
        channel.queue_bind(queue=queue, exchange=exchange, routing_key=pattern)


class EventPublisher:
    """Publishes events to the topic exchange: persistent, mandatory, confirmed by the broker."""

    def __init__(self, connection: pika.BlockingConnection, exchange: str):
        self.exchange = exchange
        self.channel = connection.channel()
        declare_exchange(self.channel, exchange)
        self.channel.confirm_delivery()

    def publish(self, event: dict) -> None:
        """Returns once the broker has the event; raises UnroutableError or NackError otherwise."""
        headers = {"x-request-id": event["requestid"]} if event.get("requestid") else None
        self.channel.basic_publish(
            exchange=self.exchange,
            routing_key=event["type"],
            body=json.dumps(event).encode(),
            properties=pika.BasicProperties(
                content_type="application/cloudevents+json", delivery_mode=2,
                message_id=event["id"], type=event["type"], headers=headers),
            mandatory=True,
        )
