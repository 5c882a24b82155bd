build-exp/src/engine.o: src/engine.c src/engine.h src/alert.h \
 src/config.h src/hashmap.h src/event.h src/rules.h src/store.h \
 src/escalation.h src/jsonw.h src/log.h src/notify/notify.h \
 src/notify/template.h src/roster.h src/timerq.h src/util.h
src/engine.h:
src/alert.h:
src/config.h:
src/hashmap.h:
src/event.h:
src/rules.h:
src/store.h:
src/escalation.h:
src/jsonw.h:
src/log.h:
src/notify/notify.h:
src/notify/template.h:
src/roster.h:
src/timerq.h:
src/util.h:
