build-exp/src/outbox.o: src/outbox.c src/outbox.h src/config.h \
 src/hashmap.h src/mqtt.h src/notify/notify.h src/notify/template.h \
 src/store.h src/alert.h src/log.h src/notify/mqtt_notifier.h src/util.h
src/outbox.h:
src/config.h:
src/hashmap.h:
src/mqtt.h:
src/notify/notify.h:
src/notify/template.h:
src/store.h:
src/alert.h:
src/log.h:
src/notify/mqtt_notifier.h:
src/util.h:
