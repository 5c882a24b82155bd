build-exp/src/daemon.o: src/daemon.c src/daemon.h src/config.h \
 src/hashmap.h src/adapter.h src/event.h src/engine.h src/alert.h \
 src/rules.h src/store.h src/log.h src/mqtt.h src/notify/mqtt_notifier.h \
 src/notify/notify.h src/notify/template.h src/outbox.h src/secret.h \
 src/service.h src/util.h
src/daemon.h:
src/config.h:
src/hashmap.h:
src/adapter.h:
src/event.h:
src/engine.h:
src/alert.h:
src/rules.h:
src/store.h:
src/log.h:
src/mqtt.h:
src/notify/mqtt_notifier.h:
src/notify/notify.h:
src/notify/template.h:
src/outbox.h:
src/secret.h:
src/service.h:
src/util.h:
