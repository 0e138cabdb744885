# The lab's probe layered onto any app's image (loadlab/stack/images.py builds it), so the
# user's code and image are never changed. The build context is a tar of exactly this file
# (as Dockerfile), src/loadlab/probe and src/loadlab/shared:
#   docker build --build-arg APP_IMAGE=name:tag --build-arg LAB_APP=package.module:app -
ARG APP_IMAGE
FROM ${APP_IMAGE}
# Beside the app, not in it: /opt/loadlab-probe holds a `loadlab` namespace package with
# only these two subpackages, and comes first on the path, so this probe wins over any other
# copy (the demo's image carries its own in /app/loadlab).
COPY src/loadlab/probe /opt/loadlab-probe/loadlab/probe
COPY src/loadlab/shared /opt/loadlab-probe/loadlab/shared
# The app to serve. Left empty, the container refuses to start in one line (exit 2); no
# ${LAB_APP:?} here: not every engine's builder knows that form (:- and :+ are old).
ARG LAB_APP
# The image's own PYTHONPATH (if any) is kept after ours; ${VAR:+word} is empty when unset.
ENV PYTHONPATH=/opt/loadlab-probe${PYTHONPATH:+:${PYTHONPATH}} \
    LAB_APP=${LAB_APP} \
    HOST=0.0.0.0 \
    PORT=8000
# The probe starts the server itself (SERVER, WORKERS, THREAD_LIMIT, LIMIT_CONCURRENCY);
# an entrypoint of the app's image would wrap or replace that command.
ENTRYPOINT []
CMD ["python3", "-m", "loadlab.probe"]
