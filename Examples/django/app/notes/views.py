import json
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from .models import Note


def read_version():
    try:
        return (Path(settings.BASE_DIR) / "VERSION").read_text().strip()
    except OSError:
        return "unknown"


VERSION = read_version()


@require_GET
def health(request):
    """200 only while the database answers: Berth's health gate."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return JsonResponse({"status": "unhealthy", "version": VERSION, "error": str(error)}, status=503)
    return JsonResponse({"status": "ok", "version": VERSION})


@require_GET
def smoke(request):
    """200 when every migration of this release is applied: Berth's smoke check."""
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return JsonResponse({"migrations": "unknown", "error": str(error)}, status=500)
    if plan:
        pending = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
        return JsonResponse({"migrations": "pending", "pending": pending}, status=500)
    return JsonResponse({"migrations": "applied", "version": VERSION})


@require_GET
def index(request):
    return render(request, "notes/index.html", {
        "version": VERSION,
        "count": Note.objects.count(),
        "notes": Note.objects.filter(archived=False)[:20],
    })


@csrf_exempt  # an example without sessions or logins; a real form would keep CSRF protection
@require_http_methods(["GET", "POST"])
def notes(request):
    if request.method == "GET":
        return JsonResponse({"notes": [note_json(n) for n in Note.objects.all()[:100]]})
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            return JsonResponse({"error": "invalid JSON"}, status=400)
    else:
        data = request.POST
    text = str(data.get("text", "")).strip()
    if not text:
        return JsonResponse({"error": "text is required"}, status=400)
    note = Note.objects.create(text=text, pinned=bool(data.get("pinned")))
    if "text/html" in request.headers.get("Accept", ""):
        return redirect("/")  # the form on /
    return JsonResponse(note_json(note), status=201)


def note_json(note):
    return {"id": note.id, "text": note.text, "pinned": note.pinned, "created_at": note.created_at.isoformat()}
