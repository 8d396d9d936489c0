"""What the load test asks of the app: mostly the page, some health checks.

Add the routes your users hit; `bash load/run.sh` runs this against a throwaway copy of the app.
"""

from locust import HttpUser, between, task


class Visitor(HttpUser):
    wait_time = between(0.1, 0.5)

    @task(5)
    def page(self) -> None:
        self.client.get("/")

    @task(1)
    def health(self) -> None:
        self.client.get("/healthz")
